/**
 * The lower bound of any arena for a schedule: the most bytes live at one step.
 * @module
 */
import type { Interval } from "./types.ts";

/** The peak of live bytes over steps, and the first step that reaches it. */
export interface LowerBound {
  /** Max over steps of the summed sizes of the intervals containing that step. */
  readonly bytes: number;
  /** The first step at which it is reached (-1 when there are no intervals). */
  readonly step: number;
}

/** Sweeps the intervals' steps and returns the peak of live bytes. */
export function lowerBound(items: readonly Interval[]): LowerBound {
  const events: [number, number][] = [];
  for (const v of items) events.push([v.first, v.size], [v.last + 1, -v.size]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0, bytes = 0, step = -1;
  for (let k = 0; k < events.length;) {
    const at = events[k][0];
    while (k < events.length && events[k][0] === at) live += events[k++][1];
    if (live > bytes) [bytes, step] = [live, at];
  }
  return { bytes, step };
}
