/**
 * From a training (or inference) graph to a plan: schedule, lifetimes,
 * in-place reuse, arena offsets, lower bound and persistent accounting.
 * @module
 */
import type { GradResult } from "../autodiff/mod.ts";
import {
  byteSize,
  checkQuantizedReads,
  type Graph,
  isOptimizerState,
  isUpdate,
  storedBytes,
  type Tensor,
} from "../graph/mod.ts";
import { assignOffsets } from "./assign.ts";
import { inPlaceCandidates } from "./in_place.ts";
import { lifetimes } from "./lifetimes.ts";
import { lowerBound } from "./lower_bound.ts";
import { hoistUpdates, scheduleGraph } from "./schedule.ts";
import { refineOrder } from "./refine.ts";
import {
  CPU_TARGET,
  type Interval,
  OPTIMIZER_STATE_FACTOR,
  type OptimizerKind,
  type Plan,
  type PlannedValue,
  type PlanTarget,
  type ValueCategory,
} from "./types.ts";

/** Options of {@linkcode planGraph}. */
export interface PlanOptions {
  /** Optimizer whose state the accounting includes (default "none"). */
  readonly optimizer?: OptimizerKind;
  /** Allow outputs to take over an input's bytes where legal (default true). */
  readonly inPlace?: boolean;
}

/** True when `source` is the result of `grad()` rather than a bare graph. */
export function isGradResult(source: GradResult | Graph): source is GradResult {
  return "grads" in source && "saved" in source;
}

function nameOf(n: Tensor, i: number, gradOf: ReadonlyMap<Tensor, Tensor>): string {
  if (n.op === "param" || n.op === "input") return String(n.attrs.name);
  if (isUpdate(n)) return `update(${n.inputs[0].attrs.name})`;
  const p = gradOf.get(n);
  return p ? `grad(${p.attrs.name})` : `%${i}`;
}

/** Union-find root with path halving. */
function root(parent: number[], i: number): number {
  while (parent[i] !== i) i = parent[i] = parent[parent[i]];
  return i;
}

/** What {@linkcode slotLayout} needs besides the order. */
interface LayoutFacts {
  readonly index: ReadonlyMap<Tensor, number>;
  readonly keep: ReadonlySet<Tensor>;
  readonly inArena: readonly boolean[];
  readonly bytes: readonly number[];
  readonly inPlace: boolean;
}

/**
 * For an order: each value's first and last step, the in-place choices (an
 * output takes an input's bytes when this op reads it last) and one
 * interval per slot (a chain of in-place values shares one slot).
 */
function slotLayout(order: readonly Tensor[], f: LayoutFacts) {
  const { index, keep, inArena, bytes } = f;
  const life = lifetimes(order, keep);
  const end = order.length - 1;
  const nodes = [...index.keys()];
  const first = nodes.map((n) => life.get(n)?.firstWrite ?? 0);
  const last = nodes.map((n) => life.get(n)?.lastRead ?? end);
  const parent = nodes.map((_, i) => i);
  const inPlaceOf = new Map<number, number>();
  if (f.inPlace) {
    order.forEach((n, s) => {
      const v = index.get(n)!;
      if (!inArena[v]) return;
      for (const k of inPlaceCandidates(n)) {
        const u = index.get(n.inputs[k])!;
        if (inArena[u] && last[u] === s && first[u] < s && !keep.has(n.inputs[k])) {
          inPlaceOf.set(v, u);
          parent[v] = root(parent, u);
          return;
        }
      }
    });
  }
  const slotOf = new Map<number, number>();
  const slots: { size: number; first: number; last: number }[] = [];
  nodes.forEach((_, i) => {
    if (!inArena[i]) return;
    const r = root(parent, i);
    let k = slotOf.get(r);
    if (k === undefined) {
      k = slots.length;
      slotOf.set(r, k);
      slots.push({ size: bytes[i], first: first[i], last: last[i] });
    }
    const slot = slots[k];
    slot.size = Math.max(slot.size, bytes[i]);
    slot.first = Math.min(slot.first, first[i]);
    slot.last = Math.max(slot.last, last[i]);
    slotOf.set(i, k);
  });
  return { first, last, inPlaceOf, slotOf, slots };
}

/**
 * Plans a `grad()` result (forward + backward) or an inference graph: the
 * schedule that runtimes execute, each value's lifetime, in-place reuse, one
 * arena with aligned offsets, the arena's lower bound for this schedule, and
 * the persistent bytes (weights, trainable gradients, optimizer state). In
 * a graph with optimizer updates (`withOptimizer`), each update runs right
 * after its gradient is final and every other reader of its parameter has
 * run, the gradients it reads are arena values, and the optimizer state is
 * counted from the state parameters.
 * Offsets follow `target.alignment`; a runtime executes a plan made for its
 * own `runtime.target` (or a stricter one).
 *
 * @example
 * ```ts
 * import { classificationLoss, cpuRuntime, da3, grad, planGraph, planReport, resnet20 } from "../../mod.ts";
 *
 * const model = resnet20({ adaptor: da3().adaptor, classes: 10, batch: 32 });
 * const plan = planGraph(grad(classificationLoss(model)), cpuRuntime.target, { optimizer: "adam" });
 * console.log(plan.arenaBytes, plan.lowerBoundBytes);
 * console.log(planReport(plan).text); // every value: op, bytes, lifetime, offset
 * ```
 */
export function planGraph(
  source: GradResult | Graph,
  target: PlanTarget = CPU_TARGET,
  options: PlanOptions = {},
): Plan {
  const alignment = target.alignment;
  if (!Number.isInteger(alignment) || alignment < 1) {
    throw new RangeError(
      `planGraph: target alignment must be a positive integer, got ${alignment}`,
    );
  }
  if (!(target.maxBindingBytes > 0)) {
    throw new RangeError(
      `planGraph: target maxBindingBytes must be positive, got ${target.maxBindingBytes}`,
    );
  }
  const optimizer = options.optimizer ??
    (isGradResult(source) && "rule" in source
      ? (source.rule as { kind: OptimizerKind }).kind
      : "none");
  const g = isGradResult(source) ? source.graph : source;
  checkQuantizedReads(g.nodes, g.outputs);
  const grads = isGradResult(source) ? source.grads : new Map<Tensor, Tensor>();
  const backward: ReadonlySet<Tensor> = isGradResult(source) ? source.backward : new Set();
  const savedSet = new Set(isGradResult(source) ? source.saved.map((s) => s.tensor) : []);
  const gradOf = new Map<Tensor, Tensor>();
  for (const [p, d] of grads) gradOf.set(d, p);
  const keep = new Set(g.outputs);
  // A gradient is persistent when it is an output; one an update consumes lives in the arena.
  const persistent = new Set([...gradOf.keys()].filter((d) => keep.has(d)));
  const updates = g.nodes.filter(isUpdate);

  const schedule = scheduleGraph(g, { persistent: new Set([...persistent, ...updates]) });
  const index = new Map<Tensor, number>();
  g.nodes.forEach((n, i) => index.set(n, i));

  const category = (n: Tensor): ValueCategory =>
    n.op === "param"
      ? isOptimizerState(n) ? "state" : "weight"
      : isUpdate(n)
      ? "update"
      : persistent.has(n)
      ? "gradient"
      : n.op === "input"
      ? "input"
      : keep.has(n)
      ? "output"
      : savedSet.has(n)
      ? "saved"
      : "transient";
  const cats = g.nodes.map(category);
  const inArena = cats.map((c) =>
    c !== "weight" && c !== "state" && c !== "gradient" && c !== "update"
  );
  // Parameters count the bytes of their storage (f16: 2 per element, u8: 1 plus scales).
  const bytes = g.nodes.map(storedBytes);
  const layout = (order: readonly Tensor[]) =>
    slotLayout(order, { index, keep, inArena, bytes, inPlace: options.inPlace ?? true });
  const order = refineOrder(
    hoistUpdates(schedule.order),
    (o) => lowerBound(layout(o).slots).bytes,
    (n) => (inArena[index.get(n)!] ? bytes[index.get(n)!] : 0),
  );
  const { first, last, inPlaceOf, slotOf, slots } = layout(order);
  const end = order.length - 1;
  const intervals: Interval[] = slots;
  const assignment = assignOffsets(intervals, { alignment });
  const bound = lowerBound(intervals);

  const values: PlannedValue[] = g.nodes.map((n, i) => {
    const isWeight = cats[i] === "weight" || cats[i] === "state";
    const v: PlannedValue = {
      index: i,
      name: nameOf(n, i, gradOf),
      op: n.op,
      shape: n.shape,
      dtype: n.dtype,
      bytes: bytes[i],
      category: cats[i],
      phase: backward.has(n) ? "backward" : "forward",
      saved: savedSet.has(n),
      inputs: n.inputs.map((x) => index.get(x)!),
      step: isWeight ? -1 : first[i],
      firstWrite: isWeight ? 0 : first[i],
      lastRead: isWeight || cats[i] === "gradient" || cats[i] === "update" ? end : last[i],
      offset: inArena[i] ? assignment.offsets[slotOf.get(i)!] : null,
    };
    return inPlaceOf.has(i) ? { ...v, inPlaceOf: inPlaceOf.get(i)! } : v;
  });

  const sum = (pick: (v: PlannedValue) => boolean) =>
    values.reduce((s, v) => (pick(v) ? s + v.bytes : s), 0);
  const weightBytes = sum((v) => v.category === "weight");
  const trainableBytes = [...grads.keys()].reduce((s, p) => s + byteSize(p.shape, p.dtype), 0);
  // One gradient buffer per trainable parameter whose gradient is an output, even when two share a node.
  const gradientBytes = [...grads.values()].reduce(
    (s, d) => persistent.has(d) ? s + byteSize(d.shape, d.dtype) : s,
    0,
  );
  const optimizerBytes = updates.length > 0
    ? sum((v) => v.category === "state")
    : OPTIMIZER_STATE_FACTOR[optimizer] * trainableBytes;
  return {
    tensors: g.nodes,
    values,
    schedule: order.map((n) => index.get(n)!),
    outputs: g.outputs.map((n) => index.get(n)!),
    target,
    alignment,
    arenaBytes: assignment.arenaBytes,
    lowerBoundBytes: bound.bytes,
    peakStep: bound.step,
    ordering: assignment.ordering,
    optimizer,
    weightBytes,
    trainableBytes,
    gradientBytes,
    optimizerBytes,
    savedActivationBytes: sum((v) => v.saved),
    totalBytes: weightBytes + gradientBytes + optimizerBytes + assignment.arenaBytes,
  };
}
