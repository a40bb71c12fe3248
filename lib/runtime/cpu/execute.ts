/**
 * The reference interpreter: runs a graph node by node on typed arrays, a
 * fresh array per value, without a plan. It is the oracle the planned
 * runtimes are tested against.
 * @module
 */
import { byteSize, type Graph, isUpdate, showShape, type Tensor } from "../../graph/mod.ts";
import { hoistUpdates } from "../../plan/schedule.ts";
import { allocate, arrayKind, FeedError, type Feeds, type TensorData } from "../data.ts";
import type { CpuKernel } from "./kernels/kernel.ts";
import { CPU_KERNELS } from "./kernels/mod.ts";

/** Checks that a fed array has the node's dtype and size. */
export function checkFeed(n: Tensor, kind: string, value: TensorData | undefined): TensorData {
  const name = String(n.attrs.name);
  if (!value) throw new FeedError(`${n.op} "${name}" ${showShape(n.shape)} was not fed`);
  const dtype = n.op === "param" ? "f32" : n.dtype;
  if (arrayKind(value) !== dtype || value.byteLength !== byteSize(n.shape, dtype)) {
    throw new FeedError(
      `${kind} "${name}" expects ${dtype}${showShape(n.shape)} (${
        byteSize(n.shape, dtype)
      } bytes), got ${arrayKind(value)} with ${value.byteLength} bytes`,
    );
  }
  return value;
}

/** The value of a source node from the feeds. */
export function sourceValue(n: Tensor, feeds: Feeds): TensorData {
  const name = String(n.attrs.name);
  return n.op === "input"
    ? checkFeed(n, "input", feeds.inputs[name])
    : checkFeed(n, "param", feeds.params.get(name));
}

/** The CPU kernel of a non-source node's op. */
export function kernelOf(n: Tensor): CpuKernel {
  const kernel = CPU_KERNELS[n.op];
  if (!kernel) throw new FeedError(`cpu: no kernel for op ${n.op}`);
  return kernel;
}

/**
 * Evaluates one non-source node on the CPU into a new array; an optimizer
 * update writes its parameter (and state) arrays in place and returns the parameter's.
 */
export function evalNode(n: Tensor, args: readonly TensorData[]): TensorData {
  const out = isUpdate(n) ? args[0] : allocate(n.shape, n.dtype);
  kernelOf(n)(n, args, out);
  return out;
}

/**
 * Runs every node of `g` in order (each optimizer update after every other
 * reader of its parameter) and returns its outputs. Values are dropped
 * after their last use, so peak host memory follows the graph order.
 */
export function executeCpu(g: Graph, feeds: Feeds): TensorData[] {
  const order = hoistUpdates(g.nodes);
  const lastUse = new Map<Tensor, number>();
  order.forEach((n, i) => n.inputs.forEach((x) => lastUse.set(x, i)));
  const keep = new Set(g.outputs);
  const values = new Map<Tensor, TensorData>();
  order.forEach((n, i) => {
    const isSource = n.op === "input" || n.op === "param";
    values.set(
      n,
      isSource ? sourceValue(n, feeds) : evalNode(n, n.inputs.map((x) => values.get(x)!)),
    );
    for (const x of n.inputs) {
      if (lastUse.get(x) === i && !keep.has(x)) values.delete(x);
    }
  });
  return g.outputs.map((o) => values.get(o)!);
}
