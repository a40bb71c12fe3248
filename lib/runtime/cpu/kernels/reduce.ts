/**
 * Reductions and resampling: global average pool, channel mean, mean,
 * nearest upsampling and its gradient.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

/** Mean over H×W. */
export const globalAvgPool: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out);
  const [b, c, h, w] = n.inputs[0].shape;
  const s = h * w;
  for (let p = 0; p < b * c; p++) {
    let acc = 0;
    for (let k = 0; k < s; k++) acc += x[p * s + k];
    y[p] = acc / s;
  }
};

/** Mean over channels. */
export const channelMean: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out).fill(0);
  const [b, c, h, w] = n.inputs[0].shape;
  const s = h * w;
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) y[i * s + k] += x[(i * c + ch) * s + k] / c;
    }
  }
};

/** Mean of all elements. */
export const mean: CpuKernel = (_, [xa], out) => {
  const x = f32(xa);
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i];
  f32(out)[0] = acc / x.length;
};

/**
 * Calls `f(small, large)` pairing each element of the `[N,C,H,W]` value with
 * each element of its f×f block in the upsampled one.
 */
function forEachBlock(
  small: readonly number[],
  factor: number,
  f: (s: number, l: number) => void,
): void {
  const [b, c, h, w] = small;
  const wl = w * factor;
  for (let p = 0; p < b * c; p++) {
    for (let y = 0; y < h * factor; y++) {
      for (let x = 0; x < wl; x++) {
        f(
          (p * h + Math.floor(y / factor)) * w + Math.floor(x / factor),
          (p * h * factor + y) * wl + x,
        );
      }
    }
  }
}

/** Repeats each value in an f×f block. */
export const upsampleNearest: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out);
  forEachBlock(n.inputs[0].shape, n.attrs.factor as number, (s, l) => (y[l] = x[s]));
};

/** Sums each f×f block. */
export const upsampleNearestGrad: CpuKernel = (n, [dya], out) => {
  const dy = f32(dya), dx = f32(out).fill(0);
  forEachBlock(n.shape, n.attrs.factor as number, (s, l) => (dx[s] += dy[l]));
};
