/**
 * Arena assignment: byte offsets for lifetime intervals so that intervals
 * that share a step never share bytes. Greedy best fit as in TFLite's arena
 * planner (each interval goes into the smallest gap left by the already
 * placed intervals it intersects), run over several orderings as XLA's heap
 * simulator does, keeping the smallest arena.
 * @module
 */
import { alignUp, intersects, type Interval } from "./types.ts";

/** The offsets chosen for a list of intervals. */
export interface Assignment {
  /** `offsets[i]` is the byte offset of `items[i]`, a multiple of the alignment. */
  readonly offsets: readonly number[];
  /** The end of the highest placed interval, rounded up to 4 bytes. */
  readonly arenaBytes: number;
  /** The name of the ordering that produced these offsets. */
  readonly ordering: string;
}

/** Options of {@linkcode assignOffsets}. */
export interface AssignOptions {
  /** Offset alignment in bytes (default 256, WebGPU's `minStorageBufferOffsetAlignment`). */
  readonly alignment?: number;
  /** Which orderings to try (default: every one in {@linkcode ORDERINGS}). */
  readonly orderings?: readonly string[];
}

/** A placement ordering: negative when `a` is placed before `b`. */
export type Compare = (a: Interval, b: Interval) => number;

const length = (v: Interval) => v.last - v.first;

/** Placement orderings by name: each compares two intervals, placed first when negative. */
export const ORDERINGS: Readonly<Record<string, Compare>> = {
  size: (a, b) => b.size - a.size || a.first - b.first || length(b) - length(a),
  lifetime: (a, b) => length(b) - length(a) || b.size - a.size || a.first - b.first,
  first: (a, b) => a.first - b.first || b.size - a.size || length(b) - length(a),
  area: (a, b) => b.size * (length(b) + 1) - a.size * (length(a) + 1) || a.first - b.first,
};

/** Default offset alignment: WebGPU's `minStorageBufferOffsetAlignment`. */
export const DEFAULT_ALIGNMENT = 256;

/** Places `items` in the given order with best fit; returns offsets and the arena end. */
export function placeBestFit(
  items: readonly Interval[],
  order: readonly number[],
  alignment: number,
): { offsets: number[]; end: number } {
  const offsets = new Array<number>(items.length).fill(-1);
  const placed: number[] = [];
  let end = 0;
  for (const i of order) {
    const item = items[i];
    const conflicts = placed.filter((j) => intersects(items[j], item));
    conflicts.sort((a, b) => offsets[a] - offsets[b]);
    let cursor = 0, best = -1, bestGap = Infinity;
    for (const j of conflicts) {
      const at = alignUp(cursor, alignment);
      const gap = offsets[j] - at;
      if (gap >= item.size && gap < bestGap) [best, bestGap] = [at, gap];
      cursor = Math.max(cursor, offsets[j] + items[j].size);
    }
    offsets[i] = best >= 0 ? best : alignUp(cursor, alignment);
    end = Math.max(end, offsets[i] + item.size);
    placed.push(i);
  }
  return { offsets, end };
}

/**
 * Offsets for `items` such that intersecting intervals never overlap, the
 * smallest arena over the orderings tried (ties go to the earlier ordering).
 */
export function assignOffsets(items: readonly Interval[], options: AssignOptions = {}): Assignment {
  const alignment = options.alignment ?? DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1) {
    throw new RangeError(`assignOffsets: alignment must be a positive integer, got ${alignment}`);
  }
  const names = options.orderings ?? Object.keys(ORDERINGS);
  let best: Assignment | undefined;
  for (const name of names) {
    const compare = ORDERINGS[name];
    if (!compare) throw new RangeError(`assignOffsets: unknown ordering "${name}"`);
    const order = items.map((_, i) => i).sort((a, b) => compare(items[a], items[b]) || a - b);
    const { offsets, end } = placeBestFit(items, order, alignment);
    const arenaBytes = alignUp(end, 4);
    if (!best || arenaBytes < best.arenaBytes) best = { offsets, arenaBytes, ordering: name };
  }
  return best ?? { offsets: [], arenaBytes: 0, ordering: names[0] ?? "size" };
}
