/**
 * The reference interpreter: runs a graph node by node on typed arrays, a
 * fresh array per value, without a plan. It is the oracle the planned
 * runtimes are tested against.
 * @module
 */
import {
  byteSize,
  checkQuantizedReads,
  type Graph,
  isUpdate,
  numel,
  scaleCount,
  showShape,
  storageOf,
  type Tensor,
} from "../../graph/mod.ts";
import { hoistUpdates } from "../../plan/schedule.ts";
import {
  allocate,
  arrayKind,
  FeedError,
  type Feeds,
  type KernelInput,
  type ParamValue,
  type TensorData,
} from "../data.ts";
import { isQuantizedTensor, quantizedLength } from "../quantized.ts";
import type { CpuKernel } from "./kernels/kernel.ts";
import { CPU_KERNELS } from "./kernels/mod.ts";

/** Checks that a fed array has the node's dtype and size. */
export function checkFeed(
  n: Tensor,
  kind: string,
  value: TensorData | undefined,
): TensorData {
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

/**
 * Checks a fed parameter value against its node: a Float32Array of its size
 * for an f32 param, a quantised tensor of its storage, shape and scale
 * count otherwise.
 */
export function checkParam(n: Tensor, value: ParamValue | undefined): ParamValue {
  const storage = storageOf(n);
  if (storage === "f32" || !isQuantizedTensor(value)) {
    if (storage === "f32" && !isQuantizedTensor(value)) {
      return checkFeed(n, "param", value as TensorData | undefined) as Float32Array;
    }
    const got = isQuantizedTensor(value)
      ? `a ${value.storage} tensor`
      : value
      ? `${arrayKind(value)} with ${value.byteLength} bytes`
      : "nothing";
    throw new FeedError(
      `param "${n.attrs.name}" ${showShape(n.shape)} is stored as ${storage}, got ${got}`,
    );
  }
  const scales = scaleCount(n);
  const shapeOk = value.shape.length === n.shape.length &&
    value.shape.every((d, i) => d === n.shape[i]) && quantizedLength(value) === numel(n.shape);
  const got = value.storage === "u8" ? value.scale.length : 0;
  if (value.storage !== storage || !shapeOk || got !== scales) {
    throw new FeedError(
      `param "${n.attrs.name}" expects ${storage}${showShape(n.shape)}${
        scales ? ` with ${scales} scales` : ""
      }, got ${value.storage}${showShape(value.shape)}${got ? ` with ${got} scales` : ""}`,
    );
  }
  return value;
}

/** The value of a source node from the feeds. */
export function sourceValue(n: Tensor, feeds: Feeds): KernelInput {
  const name = String(n.attrs.name);
  return n.op === "input"
    ? checkFeed(n, "input", feeds.inputs[name])
    : checkParam(n, feeds.params.get(name));
}

/** The value of an input node from the feeds. */
export function inputValue(n: Tensor, feeds: Feeds): TensorData {
  return checkFeed(n, "input", feeds.inputs[String(n.attrs.name)]);
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
export function evalNode(n: Tensor, args: readonly KernelInput[]): TensorData {
  const out = isUpdate(n) ? args[0] as TensorData : allocate(n.shape, n.dtype);
  kernelOf(n)(n, args, out);
  return out;
}

/**
 * Runs every node of `g` in order (each optimizer update after every other
 * reader of its parameter) and returns its outputs. Values are dropped
 * after their last use, so peak host memory follows the graph order.
 */
export function executeCpu(g: Graph, feeds: Feeds): TensorData[] {
  checkQuantizedReads(g.nodes, g.outputs);
  const order = hoistUpdates(g.nodes);
  const lastUse = new Map<Tensor, number>();
  order.forEach((n, i) => n.inputs.forEach((x) => lastUse.set(x, i)));
  const keep = new Set(g.outputs);
  const values = new Map<Tensor, KernelInput>();
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
  return g.outputs.map((o) => values.get(o) as TensorData);
}
