/**
 * Unary element-wise kernels: ReLU and ReLU6 and their masks, sigmoid, scaling, fill.
 * Each writes element `i` after reading element `i`, so it may run in place.
 * @module
 */
import type { TensorData } from "../../data.ts";
import { type CpuKernel, f32, plain } from "./kernel.ts";

function bytesOf(a: TensorData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** `out[i] = f(x[i])` over f32 values. */
function unary(f: (v: number) => number): CpuKernel {
  return (_, [xa], out) => {
    const x = f32(xa), y = f32(out);
    for (let i = 0; i < y.length; i++) y[i] = f(x[i]);
  };
}

/** max(x, 0). */
export const relu: CpuKernel = unary((v) => (v > 0 ? v : 0));

/** Bit i%32 of word i>>5 is set where the value is positive. */
export const reluMask: CpuKernel = (_, [ya], out) => {
  const y = f32(ya), mask = (out as Uint32Array).fill(0);
  for (let i = 0; i < y.length; i++) if (y[i] > 0) mask[i >>> 5] |= 1 << (i & 31);
};

/** min(max(x, 0), 6); NaN gives 0 like ReLU. */
export const relu6: CpuKernel = unary((v) => (v > 0 ? (v < 6 ? v : 6) : 0));

/** Bit i%32 of word i>>5 is set where 0 < y < 6. */
export const relu6Mask: CpuKernel = (_, [ya], out) => {
  const y = f32(ya), mask = (out as Uint32Array).fill(0);
  for (let i = 0; i < y.length; i++) if (y[i] > 0 && y[i] < 6) mask[i >>> 5] |= 1 << (i & 31);
};

/** dy where the mask bit is set. */
export const reluGrad: CpuKernel = (_, [dya, m], out) => {
  const dy = f32(dya), mask = m as Uint32Array, dx = f32(out);
  for (let i = 0; i < dx.length; i++) dx[i] = (mask[i >>> 5] >>> (i & 31)) & 1 ? dy[i] : 0;
};

/** 1 / (1 + e^−x). */
export const sigmoid: CpuKernel = unary((v) => 1 / (1 + Math.exp(-v)));

/** dy · y · (1 − y). */
export const sigmoidGrad: CpuKernel = (_, [dya, ya], out) => {
  const dy = f32(dya), y = f32(ya), dx = f32(out);
  for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
};

/** x · scale. */
export const scale: CpuKernel = (n, inputs, out) => {
  const s = n.attrs.scale as number;
  unary((v) => v * s)(n, inputs, out);
};

/** A constant. */
export const fill: CpuKernel = (n, _, out) => {
  f32(out).fill(n.attrs.value as number);
};

/** The same row-major elements under the new shape (nothing to do in place). */
export const reshape: CpuKernel = (_, [xa], out) => {
  const x = plain(xa);
  if (x.buffer === out.buffer && x.byteOffset === out.byteOffset) return;
  bytesOf(out).set(bytesOf(x));
};
