/**
 * Pooling kernels: average and max, with their backward ops.
 * @module
 */
import type { PoolAttrs, Tensor } from "../../../graph/mod.ts";
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

/**
 * Calls `f(o, i, tap)` for each window `o` whose in-bounds taps reach a new
 * maximum at input `i` (taps visit each window in turn, in order).
 */
function forEachRunningMax(
  n: Tensor,
  x: Float32Array,
  f: (o: number, i: number, tap: number) => void,
): void {
  let window = -1, best = -Infinity;
  forEachWindowTap(n, n.inputs[0].shape, n.shape, (o, i, t) => {
    if (o !== window) [window, best] = [o, -Infinity];
    if (x[i] > best) {
      best = x[i];
      f(o, i, t);
    }
  });
}

/** Maximum over each window. */
export const maxPool2d: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out).fill(-Infinity);
  forEachRunningMax(n, x, (o, i) => (y[o] = x[i]));
};

/** The window position of each maximum. */
export const maxPool2dIndices: CpuKernel = (n, [xa], out) => {
  const tap = (out as Uint8Array).fill(0);
  forEachRunningMax(n, f32(xa), (o, _, t) => (tap[o] = t));
};

/** Routes each output gradient to its window's maximum. */
export const maxPool2dGrad: CpuKernel = (n, [dya, ta], out) => {
  const dy = f32(dya), tap = ta as Uint8Array, dx = f32(out).fill(0);
  forEachWindowTap(n, n.shape, n.inputs[0].shape, (o, i, t) => {
    if (tap[o] === t) dx[i] += dy[o];
  });
};
