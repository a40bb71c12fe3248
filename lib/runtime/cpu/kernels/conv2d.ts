/**
 * Direct convolution on the CPU and its two backward ops, sharing one loop
 * over (batch, output channel, input channel, tap, output row).
 * @module
 */
import { convAttrs, numel, type Tensor } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/**
 * Calls `row(xRow, yRow, wIdx, owLo, owHi, iw0, sw)` for every input row that
 * one kernel tap contributes to one output row: output columns `owLo..owHi`
 * read input columns `iw0 + ow·sw` of row `xRow` (flat offset of column 0).
 */
function forEachTapRow(
  xShape: readonly number[],
  yShape: readonly number[],
  wShape: readonly number[],
  conv: Tensor,
  row: (xRow: number, yRow: number, wIdx: number, lo: number, hi: number, iw0: number) => void,
): void {
  const { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups } = convAttrs(conv);
  const [n, cin, h, w] = xShape;
  const [, cout, ho, wo] = yShape;
  const [, cinG, kh, kw] = wShape;
  const coutG = cout / groups;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / coutG);
      for (let cg = 0; cg < cinG; cg++) {
        const ci = g * cinG + cg;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wIdx = ((co * cinG + cg) * kh + i) * kw + j;
            const off = j * dw - pw;
            const lo = Math.max(0, Math.ceil(-off / sw));
            const hi = Math.min(wo - 1, Math.floor((w - 1 - off) / sw));
            if (lo > hi) continue;
            for (let oh = 0; oh < ho; oh++) {
              const ih = oh * sh - ph + i * dh;
              if (ih < 0 || ih >= h) continue;
              row(
                ((b * cin + ci) * h + ih) * w,
                ((b * cout + co) * ho + oh) * wo,
                wIdx,
                lo,
                hi,
                off,
              );
            }
          }
        }
      }
    }
  }
}

/** conv2d forward. */
export const conv2d: CpuKernel = (n, [xa, wa]) => {
  const [x, wt] = [f32(xa), f32(wa)];
  const y = new Float32Array(numel(n.shape));
  const sw = convAttrs(n).stride[1];
  forEachTapRow(n.inputs[0].shape, n.shape, n.inputs[1].shape, n, (xr, yr, wi, lo, hi, off) => {
    const v = wt[wi];
    for (let o = lo; o <= hi; o++) y[yr + o] += v * x[xr + o * sw + off];
  });
  return y;
};

/** Input gradient: scatters `w · dy` back over each tap. */
export const conv2dGradInput: CpuKernel = (n, [dya, wa]) => {
  const [dy, wt] = [f32(dya), f32(wa)];
  const dx = new Float32Array(numel(n.shape));
  const sw = convAttrs(n).stride[1];
  forEachTapRow(n.shape, n.inputs[0].shape, n.inputs[1].shape, n, (xr, yr, wi, lo, hi, off) => {
    const v = wt[wi];
    for (let o = lo; o <= hi; o++) dx[xr + o * sw + off] += v * dy[yr + o];
  });
  return dx;
};

/** Weight gradient: correlates the input with the output gradient. */
export const conv2dGradWeight: CpuKernel = (n, [xa, dya]) => {
  const [x, dy] = [f32(xa), f32(dya)];
  const dw = new Float32Array(numel(n.shape));
  const sw = convAttrs(n).stride[1];
  forEachTapRow(n.inputs[0].shape, n.inputs[1].shape, n.shape, n, (xr, yr, wi, lo, hi, off) => {
    let s = 0;
    for (let o = lo; o <= hi; o++) s += dy[yr + o] * x[xr + o * sw + off];
    dw[wi] += s;
  });
  return dw;
};
