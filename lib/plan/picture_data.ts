/**
 * The numbers behind a plan's picture: live bytes per schedule step by
 * category (the timeline), one offset × time rectangle per arena value (the
 * arena), and the values live at the peak. Pure functions of a plan.
 * @module
 */
import { showShape } from "../graph/mod.ts";
import type { Plan, PlannedValue } from "./types.ts";

/** The bands of the timeline, bottom to top: persistent bytes first, then the arena's. */
export const PICTURE_CATEGORIES = [
  "weights",
  "gradients",
  "optimizer",
  "input",
  "saved",
  "transient",
] as const;

/** A band of the timeline: what a byte is spent on. */
export type PictureCategory = typeof PICTURE_CATEGORIES[number];

/** The arena's bands (the others are persistent and live for the whole step). */
export type ArenaCategory = "input" | "saved" | "transient";

/** How the picture files an arena value: the input batch, a saved activation, or transient. */
export function arenaCategory(v: PlannedValue): ArenaCategory {
  if (v.category === "input") return "input";
  return v.category === "saved" ? "saved" : "transient";
}

/** One arena value as a rectangle: steps `[first, last]` × bytes `[offset, offset + bytes)`. */
export interface ArenaRect {
  /** Index of the value in `Plan.values`. */
  readonly index: number;
  /** Its band. */
  readonly category: ArenaCategory;
  /** First step its bytes are its own. */
  readonly first: number;
  /** Last step its bytes are its own: its last read, or the step before a value computed in its place takes them over. */
  readonly last: number;
  /** Its arena offset. */
  readonly offset: number;
  /** Its size. */
  readonly bytes: number;
}

/**
 * The arena's rectangles, one per arena value, in `Plan.values` order. A
 * value whose bytes a later value takes over in place ends the step before:
 * at that step the bytes belong to the new value.
 */
export function arenaRects(plan: Plan): ArenaRect[] {
  const takenAt = new Map<number, number>();
  for (const v of plan.values) {
    if (v.inPlaceOf !== undefined) takenAt.set(v.inPlaceOf, v.firstWrite);
  }
  const rects: ArenaRect[] = [];
  for (const v of plan.values) {
    if (v.offset === null) continue;
    const taken = takenAt.get(v.index);
    rects.push({
      index: v.index,
      category: arenaCategory(v),
      first: v.firstWrite,
      last: taken === undefined ? v.lastRead : Math.min(v.lastRead, taken - 1),
      offset: v.offset,
      bytes: v.bytes,
    });
  }
  return rects;
}

/** Live bytes per schedule step, by band. */
export interface Timeline {
  /** Number of schedule steps. */
  readonly steps: number;
  /** `live[c][s]`: bytes of band `c` live at step `s`. */
  readonly live: Readonly<Record<PictureCategory, readonly number[]>>;
  /** Arena bytes live at each step (input + saved + transient). */
  readonly arena: readonly number[];
  /** The first step with the most live arena bytes (the plan's `peakStep`). */
  readonly peakStep: number;
  /** Arena bytes live there (the plan's `lowerBoundBytes`). */
  readonly peakArenaBytes: number;
  /** Every byte live there: persistent bytes plus `peakArenaBytes`. */
  readonly peakBytes: number;
  /** The first backward step, or -1 for an inference plan. */
  readonly backwardStep: number;
}

/** The timeline of a plan: persistent bands are flat, the arena's follow the rectangles. */
export function planTimeline(plan: Plan): Timeline {
  const steps = plan.schedule.length;
  const flat = (bytes: number) => new Array<number>(steps).fill(bytes);
  const band = { input: flat(0), saved: flat(0), transient: flat(0) };
  // Add each rectangle as +bytes at its first step and -bytes after its last, then sum.
  const delta = { input: flat(0), saved: flat(0), transient: flat(0) };
  for (const r of arenaRects(plan)) {
    delta[r.category][r.first] += r.bytes;
    if (r.last + 1 < steps) delta[r.category][r.last + 1] -= r.bytes;
  }
  for (const c of ["input", "saved", "transient"] as const) {
    let live = 0;
    for (let s = 0; s < steps; s++) band[c][s] = live += delta[c][s];
  }
  const arena = band.input.map((x, s) => x + band.saved[s] + band.transient[s]);
  let peakStep = steps > 0 ? 0 : -1, peakArenaBytes = 0;
  arena.forEach((b, s) => {
    if (b > peakArenaBytes) [peakStep, peakArenaBytes] = [s, b];
  });
  const persistent = plan.weightBytes + plan.gradientBytes + plan.optimizerBytes;
  return {
    steps,
    live: {
      weights: flat(plan.weightBytes),
      gradients: flat(plan.gradientBytes),
      optimizer: flat(plan.optimizerBytes),
      ...band,
    },
    arena,
    peakStep,
    peakArenaBytes,
    peakBytes: persistent + peakArenaBytes,
    backwardStep: plan.schedule.findIndex((i) => plan.values[i].phase === "backward"),
  };
}

/** The arena rectangles live at `step`, biggest first. */
export function liveAt(plan: Plan, step: number): ArenaRect[] {
  return arenaRects(plan).filter((r) => r.first <= step && step <= r.last)
    .sort((a, b) => b.bytes - a.bytes || a.index - b.index);
}

/**
 * The nearest parameter upstream of a value (breadth first over its inputs),
 * the layer it belongs to; undefined when none is within `depth` ops.
 */
export function nearestParam(plan: Plan, index: number, depth = 8): string | undefined {
  let frontier = [index];
  const seen = new Set(frontier);
  for (let d = 0; d <= depth && frontier.length > 0; d++) {
    const next: number[] = [];
    for (const i of frontier) {
      for (const j of plan.values[i].inputs) {
        if (plan.values[j].category === "weight") return plan.values[j].name;
        if (!seen.has(j)) {
          seen.add(j);
          next.push(j);
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/**
 * A readable name for a value: its own name when it has one (an input or a
 * gradient), else its op, type and phase with the layer of the nearest
 * parameter, e.g. `conv2d_grad_input f32[8,256,56,56] backward · layer2.0.conv1`.
 */
export function valueLabel(plan: Plan, index: number): string {
  const v = plan.values[index];
  if (!v.name.startsWith("%")) return v.name;
  const layer = nearestParam(plan, index)?.replace(/\.[^.]+$/, "");
  return `${v.op} ${v.dtype}${showShape(v.shape)} ${v.phase}${layer ? ` · ${layer}` : ""}`;
}
