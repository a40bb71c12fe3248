/**
 * Reductions and resampling: global average pool, channel mean, mean,
 * nearest upsampling and its gradient.
 * @module
 */
import { numel } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/** Mean over H×W. */
export const globalAvgPool: CpuKernel = (n, [xa]) => {
  const x = f32(xa);
  const [b, c, h, w] = n.inputs[0].shape;
  const s = h * w, y = new Float32Array(b * c);
  for (let p = 0; p < b * c; p++) {
    let acc = 0;
    for (let k = 0; k < s; k++) acc += x[p * s + k];
    y[p] = acc / s;
  }
  return y;
};

/** Mean over channels. */
export const channelMean: CpuKernel = (n, [xa]) => {
  const x = f32(xa);
  const [b, c, h, w] = n.inputs[0].shape;
  const s = h * w, y = new Float32Array(b * s);
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) y[i * s + k] += x[(i * c + ch) * s + k] / c;
    }
  }
  return y;
};

/** Mean of all elements. */
export const mean: CpuKernel = (_, [xa]) => {
  const x = f32(xa);
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i];
  return Float32Array.of(acc / x.length);
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
export const upsampleNearest: CpuKernel = (n, [xa]) => {
  const x = f32(xa), y = new Float32Array(numel(n.shape));
  forEachBlock(n.inputs[0].shape, n.attrs.factor as number, (s, l) => (y[l] = x[s]));
  return y;
};

/** Sums each f×f block. */
export const upsampleNearestGrad: CpuKernel = (n, [dya]) => {
  const dy = f32(dya), dx = new Float32Array(numel(n.shape));
  forEachBlock(n.shape, n.attrs.factor as number, (s, l) => (dx[s] += dy[l]));
  return dx;
};
