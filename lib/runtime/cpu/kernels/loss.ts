/**
 * Softmax cross-entropy and its gradient.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

/** Row-wise softmax of `[N,K]` logits, in float64. */
function softmaxRows(x: Float32Array, n: number, k: number): Float64Array {
  const p = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity, sum = 0;
    for (let j = 0; j < k; j++) max = Math.max(max, x[i * k + j]);
    for (let j = 0; j < k; j++) sum += p[i * k + j] = Math.exp(x[i * k + j] - max);
    for (let j = 0; j < k; j++) p[i * k + j] /= sum;
  }
  return p;
}

/** Mean over rows of −log p[label]. */
export const softmaxCrossEntropy: CpuKernel = (n, [xa, la], out) => {
  const [rows, k] = n.inputs[0].shape;
  const p = softmaxRows(f32(xa), rows, k), labels = la as Int32Array;
  let loss = 0;
  for (let i = 0; i < rows; i++) loss -= Math.log(Math.max(p[i * k + labels[i]], 1e-30));
  f32(out)[0] = loss / rows;
};

/** (softmax − onehot) · dy / N. */
export const softmaxCrossEntropyGrad: CpuKernel = (n, [xa, la, dya], out) => {
  const [rows, k] = n.shape;
  const p = softmaxRows(f32(xa), rows, k), labels = la as Int32Array, dy = f32(dya)[0];
  for (let i = 0; i < rows; i++) p[i * k + labels[i]] -= 1;
  const dx = f32(out);
  for (let i = 0; i < p.length; i++) dx[i] = (p[i] * dy) / rows;
};
