/**
 * Pooling kernels: average and max, with their backward ops.
 * @module
 */
import { numel, type PoolAttrs, type Tensor } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/**
 * Calls `f(outIndex, inIndex, tap)` for every in-bounds window tap, where
 * the pooled node `n` reads `xShape`.
 */
function forEachWindowTap(
  n: Tensor,
  xShape: readonly number[],
  yShape: readonly number[],
  f: (o: number, i: number, tap: number) => void,
): void {
  const { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw] } = n.attrs as unknown as PoolAttrs;
  const [nb, c, h, w] = xShape;
  const [, , ho, wo] = yShape;
  for (let p = 0; p < nb * c; p++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const o = (p * ho + oh) * wo + ow;
        for (let i = 0; i < kh; i++) {
          const ih = oh * sh - ph + i;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < kw; j++) {
            const iw = ow * sw - pw + j;
            if (iw >= 0 && iw < w) f(o, (p * h + ih) * w + iw, i * kw + j);
          }
        }
      }
    }
  }
}

function windowSize(n: Tensor): number {
  const [kh, kw] = (n.attrs as unknown as PoolAttrs).kernel;
  return kh * kw;
}

/** Mean over each window, padding counted as zeros. */
export const avgPool2d: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out).fill(0), k = windowSize(n);
  forEachWindowTap(n, n.inputs[0].shape, n.shape, (o, i) => (y[o] += x[i] / k));
};

/** Spreads each output gradient evenly over its window. */
export const avgPool2dGrad: CpuKernel = (n, [dya], out) => {
  const dy = f32(dya), dx = f32(out).fill(0), k = windowSize(n);
  forEachWindowTap(n, n.shape, n.inputs[0].shape, (o, i) => (dx[i] += dy[o] / k));
};

/** Each window's maximum into `value` and its tap into `tap`. */
function argmax(n: Tensor, x: Float32Array, value: Float32Array, tap: Uint8Array): void {
  value.fill(-Infinity);
  tap.fill(0);
  forEachWindowTap(n, n.inputs[0].shape, n.shape, (o, i, t) => {
    if (x[i] > value[o]) {
      value[o] = x[i];
      tap[o] = t;
    }
  });
}

/** Maximum over each window. */
export const maxPool2d: CpuKernel = (n, [x], out) =>
  argmax(n, f32(x), f32(out), new Uint8Array(numel(n.shape)));

/** The window position of each maximum. */
export const maxPool2dIndices: CpuKernel = (n, [x], out) =>
  argmax(n, f32(x), new Float32Array(numel(n.shape)), out as Uint8Array);

/** Routes each output gradient to its window's maximum. */
export const maxPool2dGrad: CpuKernel = (n, [dya, ta], out) => {
  const dy = f32(dya), tap = ta as Uint8Array, dx = f32(out).fill(0);
  forEachWindowTap(n, n.shape, n.inputs[0].shape, (o, i, t) => {
    if (tap[o] === t) dx[i] += dy[o];
  });
};
