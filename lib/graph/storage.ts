/**
 * Reduced-precision storage of frozen parameters: what a param node's
 * storage attributes say, the bytes it really occupies, which ops may read
 * it (the kernels that dequantise on the fly), and the rewrite that stores
 * every eligible frozen weight at a given precision.
 * @module
 */
import { GraphError, topoSort } from "./graph.ts";
import type { ParamStorage, ScaleGranularity } from "./ops/source.ts";
import { rewrite } from "./transform.ts";
import { type Attr, byteSize, node, numel, type Tensor } from "./tensor.ts";

/** The storage of a param node ("f32" for every other node). */
export function storageOf(t: Tensor): ParamStorage {
  return t.op === "param" ? (t.attrs.storage as ParamStorage | undefined) ?? "f32" : "f32";
}

/** True when a param node is stored at reduced precision (f16 or u8). */
export function isQuantized(t: Tensor): boolean {
  return storageOf(t) !== "f32";
}

/** The number of `min`/`scale` pairs of a u8 param (1 per tensor, or `shape[0]`); 0 otherwise. */
export function scaleCount(t: Tensor): number {
  if (storageOf(t) !== "u8") return 0;
  const g = t.attrs.scales as ScaleGranularity;
  return g === "tensor" || t.shape.length === 0 ? 1 : t.shape[0];
}

/**
 * The bytes a value occupies where it is stored: `byteSize` for f32 values;
 * for an f16 param 2 per element, for a u8 param 1 per element plus 8 per
 * scale pair; packed data rounded up to whole 32-bit words (the layout of
 * the WebGPU buffer, which the CPU runtime's arrays never exceed).
 */
export function storedBytes(t: Tensor): number {
  const n = numel(t.shape);
  switch (storageOf(t)) {
    case "f32":
      return byteSize(t.shape, t.dtype);
    case "f16":
      return Math.ceil(n / 2) * 4;
    case "u8":
      return Math.ceil(n / 4) * 4 + 8 * scaleCount(t);
  }
}

/**
 * The argument positions at which an op's kernels read a reduced-precision
 * parameter directly: the weight of a convolution and of its input
 * gradient, and either operand of a matrix product.
 */
export const QUANTIZED_READS: Readonly<Partial<Record<string, readonly number[]>>> = {
  conv2d: [1],
  conv2dBn: [1],
  conv2dGradInput: [1],
  matmul: [0, 1],
};

/** True when `consumer` may read a reduced-precision value at argument `k`. */
export function readsQuantized(consumer: Tensor, k: number): boolean {
  return QUANTIZED_READS[consumer.op]?.includes(k) ?? false;
}

/**
 * Throws GraphError when a reduced-precision parameter among `nodes` is
 * read by an op (or at an argument) whose kernels cannot dequantise it, or
 * is itself an output.
 */
export function checkQuantizedReads(nodes: readonly Tensor[], outputs: readonly Tensor[]): void {
  for (const n of nodes) {
    n.inputs.forEach((x, k) => {
      if (!isQuantized(x)) return;
      if (!readsQuantized(n, k)) {
        throw new GraphError(
          `param "${x.attrs.name}" is stored as ${
            storageOf(x)
          } but ${n.op} reads it at argument ${k}; only conv2d/conv2dGradInput weights and matmul operands may be`,
        );
      }
      if (n.op === "matmul" && isQuantized(n.inputs[1 - k])) {
        throw new GraphError(`matmul reads two reduced-precision params ("${x.attrs.name}")`);
      }
    });
  }
  for (const o of outputs) {
    if (isQuantized(o)) {
      throw new GraphError(`param "${o.attrs.name}" is stored as ${storageOf(o)} and is an output`);
    }
  }
}

/**
 * The same computation with every frozen parameter of rank ≥ 2 whose every
 * reader can dequantise it stored as `storage` (u8 with `scales`, default
 * per output channel). Apply it to the forward outputs before `grad()`.
 */
export function withFrozenStorage(
  outputs: readonly Tensor[],
  storage: ParamStorage,
  scales: ScaleGranularity = "channel",
): Tensor[] {
  if (storage === "f32") return [...outputs];
  const nodes = topoSort(outputs);
  const ok = new Map<Tensor, boolean>();
  for (const n of nodes) {
    if (n.op === "param") {
      ok.set(n, n.attrs.trainable === false && n.shape.length >= 2 && !outputs.includes(n));
    }
  }
  for (const n of nodes) {
    n.inputs.forEach((x, k) => {
      if (x.op === "param" && !readsQuantized(n, k)) ok.set(x, false);
    });
  }
  for (const n of nodes) {
    if (n.op === "matmul" && ok.get(n.inputs[0]) && ok.get(n.inputs[1])) ok.set(n.inputs[1], false);
  }
  return rewrite(outputs, (n) => {
    if (!ok.get(n)) return undefined;
    const attrs: Record<string, Attr> = { ...n.attrs, storage };
    if (storage === "u8") attrs.scales = scales;
    else delete attrs.scales;
    return node("param", [], n.shape, attrs, n.dtype);
  });
}
