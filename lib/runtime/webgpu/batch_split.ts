/**
 * Running one node in batch slices when a value it binds is larger than the
 * device's `maxStorageBufferBindingSize`. Values are laid out batch-major, so
 * samples `[k·b, (k+1)·b)` of a value are one contiguous byte range: a slice
 * is a binding at an offset, and the node is compiled once for a batch of
 * `b`. Only ops whose sample `n` reads nothing but sample `n` of their batched
 * inputs can be split (their op record's `perSample`: convolutions, their
 * input gradients, elementwise ops, eval-mode batch norm, pools, sums that
 * keep the batch axis); reductions over the batch (weight gradients, batch
 * statistics, the loss) cannot, and keep the limit error.
 * @module
 */
import { byteSize, input, isPerSample, node, type Tensor } from "../../graph/mod.ts";

/** How a node runs in slices. */
export interface BatchSplit {
  /** The node rebuilt for one slice: batched operands replaced by slice-shaped inputs. */
  readonly proxy: Tensor;
  /** Number of slices. */
  readonly parts: number;
  /** Samples per slice. */
  readonly batch: number;
  /** Per input of the node: true when it is bound slice by slice, false when bound whole. */
  readonly sliced: readonly boolean[];
}

/** True when `t` is bound slice by slice in a node whose output batch is `n`. */
function batched(t: Tensor, n: number): boolean {
  return t.op !== "param" && t.shape.length > 0 && t.shape[0] === n;
}

function perSampleBytes(t: Tensor): number {
  return byteSize(t.shape, t.dtype) / t.shape[0];
}

/**
 * The split of `t` whose every binding fits `maxBinding` bytes at offsets
 * that are multiples of `alignment`, with the most samples per slice; null
 * when `t` cannot be split (its op reduces over the batch, or no divisor of
 * the batch gives aligned slices that fit).
 */
export function batchSplit(t: Tensor, maxBinding: number, alignment: number): BatchSplit | null {
  const n = t.shape[0];
  if (!isPerSample(t) || n === undefined || n < 2) return null;
  const sliced = t.inputs.map((v) => batched(v, n));
  const cut = [...t.inputs.filter((_, i) => sliced[i]), t];
  // Packed masks split only on whole words.
  if (cut.some((v) => v.dtype === "mask" && (byteSize(v.shape, "f32") / 4 / n) % 32 !== 0)) {
    return null;
  }
  for (let b = Math.floor(n / 2); b >= 1; b--) {
    if (n % b !== 0) continue;
    const fits = cut.every((v) => {
      const bytes = b * perSampleBytes(v);
      return bytes <= maxBinding && bytes % alignment === 0;
    });
    if (!fits) continue;
    const inputs = t.inputs.map((v, i) =>
      sliced[i] ? input(`slice${i}`, [b, ...v.shape.slice(1)], v.dtype) : v
    );
    const proxy = node(t.op, inputs, [b, ...t.shape.slice(1)], t.attrs, t.dtype);
    return { proxy, parts: n / b, batch: b, sliced };
  }
  return null;
}

/** Byte range of slice `k` of value `v` split into slices of `batch` samples. */
export function sliceRange(v: Tensor, batch: number, k: number): { offset: number; size: number } {
  const size = batch * perSampleBytes(v);
  return { offset: k * size, size };
}
