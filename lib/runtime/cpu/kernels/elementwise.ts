/**
 * Unary element-wise kernels: ReLU and its mask, sigmoid, scaling, fill.
 * @module
 */
import { numel } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/** max(x, 0). */
export const relu: CpuKernel = (_, [x]) => f32(x).map((v) => (v > 0 ? v : 0));

/** Bit i%32 of word i>>5 is set where the value is positive. */
export const reluMask: CpuKernel = (_, [ya]) => {
  const y = f32(ya);
  const mask = new Uint32Array(Math.ceil(y.length / 32));
  for (let i = 0; i < y.length; i++) if (y[i] > 0) mask[i >>> 5] |= 1 << (i & 31);
  return mask;
};

/** dy where the mask bit is set. */
export const reluGrad: CpuKernel = (_, [dya, m]) => {
  const dy = f32(dya), mask = m as Uint32Array;
  return dy.map((v, i) => ((mask[i >>> 5] >>> (i & 31)) & 1 ? v : 0));
};

/** 1 / (1 + e^−x). */
export const sigmoid: CpuKernel = (_, [x]) => f32(x).map((v) => 1 / (1 + Math.exp(-v)));

/** dy · y · (1 − y). */
export const sigmoidGrad: CpuKernel = (_, [dya, ya]) => {
  const y = f32(ya);
  return f32(dya).map((v, i) => v * y[i] * (1 - y[i]));
};

/** x · scale. */
export const scale: CpuKernel = (n, [x]) => {
  const s = n.attrs.scale as number;
  return f32(x).map((v) => v * s);
};

/** A constant. */
export const fill: CpuKernel = (n) =>
  new Float32Array(numel(n.shape)).fill(n.attrs.value as number);

/** A copy with the new shape (same row-major order). */
export const reshape: CpuKernel = (_, [x]) => f32(x).slice();
