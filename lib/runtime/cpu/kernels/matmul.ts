/**
 * Matrix product with optional transposes.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

/** `op(a) · op(b)`; the inner loop runs over contiguous rows of the output. */
export const matmul: CpuKernel = (n, [aa, ba]) => {
  const a = f32(aa), b = f32(ba);
  const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
  const [m, p] = n.shape;
  const k = transA ? n.inputs[0].shape[0] : n.inputs[0].shape[1];
  const aAt = transA
    ? (i: number, r: number) => a[r * m + i]
    : (i: number, r: number) => a[i * k + r];
  const bRow = transB ? null : b;
  const c = new Float32Array(m * p);
  for (let i = 0; i < m; i++) {
    const ci = i * p;
    for (let r = 0; r < k; r++) {
      const v = aAt(i, r);
      if (v === 0) continue;
      if (bRow) {
        const br = r * p;
        for (let j = 0; j < p; j++) c[ci + j] += v * bRow[br + j];
      } else {
        for (let j = 0; j < p; j++) c[ci + j] += v * b[j * k + r];
      }
    }
  }
  return c;
};
