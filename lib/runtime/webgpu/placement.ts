/**
 * Where each computed or fed value lives on the device: a byte offset in one
 * arena, or (for values the arena does not hold) a buffer of its own.
 * @module
 */
import { byteSize, type Graph, type Tensor } from "../../graph/mod.ts";
import { planGraph } from "../../plan/plan.ts";
import type { Plan } from "../../plan/types.ts";

/** Arena offsets of the values a graph computes or is fed (parameters excluded). */
export interface Placement {
  /** Byte offset of each arena value; values absent here get their own buffer. */
  readonly offsets: ReadonlyMap<Tensor, number>;
  /** Bytes of the arena (0 when every value has its own buffer). */
  readonly arenaBytes: number;
  /** The computed nodes in execution order (default: the graph's topological order). */
  readonly order?: readonly Tensor[];
}

/** Bytes a value's binding spans: its size rounded up to whole `u32` words, at least one. */
export function bindingBytes(t: Tensor): number {
  return Math.max(4, Math.ceil(byteSize(t.shape, t.dtype) / 4) * 4);
}

/** The values of `g` the device holds outside parameter buffers: everything but params. */
export function deviceValues(g: Graph): Tensor[] {
  return g.nodes.filter((n) => n.op !== "param");
}

/**
 * Every value at its own aligned offset, none sharing bytes: simple and
 * always valid, but as large as the sum of all values.
 */
export function sequentialPlacement(g: Graph, alignment: number): Placement {
  const offsets = new Map<Tensor, number>();
  let end = 0;
  for (const t of deviceValues(g)) {
    offsets.set(t, end);
    end += Math.ceil(bindingBytes(t) / alignment) * alignment;
  }
  return { offsets, arenaBytes: end };
}

/** No arena: every value gets its own buffer (used when an arena would exceed `maxBufferSize`). */
export function separatePlacement(): Placement {
  return { offsets: new Map(), arenaBytes: 0 };
}

/**
 * The arena of a plan: its offsets (values computed in place share their
 * input's bytes) and its schedule. Fed inputs get buffers of their own, since
 * they are uploaded before the first step while the plan may give their bytes
 * to values that die before the input's own step.
 */
export function planPlacement(plan: Plan): Placement {
  const offsets = new Map<Tensor, number>();
  for (const v of plan.values) {
    if (v.offset !== null && v.op !== "input") offsets.set(plan.tensors[v.index], v.offset);
  }
  const order = plan.schedule.map((i) => plan.tensors[i]).filter((t) => t.op !== "input");
  return { offsets, arenaBytes: plan.arenaBytes, order };
}

/** Plans `g` with da3's planner (schedule, in-place reuse, best-fit arena) at this alignment. */
export function planPlacer(g: Graph, alignment: number): Placement {
  return planPlacement(planGraph(g, { alignment }));
}
