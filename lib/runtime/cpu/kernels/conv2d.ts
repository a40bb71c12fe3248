/**
 * Convolution on the CPU as im2col + matrix products, per sample and group,
 * and its two backward ops (col2im for the input gradient); depthwise convs
 * with f32 weights take the direct loops of `depthwise.ts` (a reduced-
 * precision depthwise weight takes the blocked im2col path, one channel's
 * taps dequantised at a time).
 * @module
 */
import {
  convAttrs,
  type ConvGeometry,
  convGeometryOf,
  isDepthwise,
  type Tensor,
} from "../../../graph/mod.ts";
import { depthwiseForward, depthwiseGradInput, depthwiseGradWeight } from "./depthwise.ts";
import { isQuantizedTensor } from "../../quantized.ts";
import { gemm, transpose } from "./gemm.ts";
import { type CpuKernel, f32 } from "./kernel.ts";
import { rowReader, WEIGHT_BLOCK_ROWS } from "./weight_rows.ts";

/** The sizes of a {@linkcode ConvGeometry} that the loops read, flattened. */
interface ConvDims {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
  cinG: number;
  coutG: number;
  kh: number;
  kw: number;
  groups: number;
  /** Rows of the column matrix: `cinG·kh·kw`. */
  rows: number;
  /** Columns of the column matrix: `ho·wo`. */
  cols: number;
}

function dims(g: ConvGeometry): ConvDims {
  const [n, cin, h, w] = g.x, [, cout, ho, wo] = g.y, [, cinG, kh, kw] = g.w, groups = g.groups;
  const d: ConvDims = {
    n,
    cin,
    h,
    w,
    cout,
    ho,
    wo,
    cinG,
    coutG: cout / groups,
    kh,
    kw,
    groups,
    rows: cinG * kh * kw,
    cols: ho * wo,
  };
  return d;
}

/**
 * Visits, for sample `b` and group `g`, every (column-matrix index, input
 * index) pair whose input position lies inside the image.
 */
function forEachColumn(
  conv: Tensor,
  d: ConvDims,
  b: number,
  g: number,
  f: (col: number, x: number) => void,
): void {
  const { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw] } = convAttrs(conv);
  for (let cg = 0; cg < d.cinG; cg++) {
    const plane = (b * d.cin + g * d.cinG + cg) * d.h;
    for (let i = 0; i < d.kh; i++) {
      for (let j = 0; j < d.kw; j++) {
        const row = ((cg * d.kh + i) * d.kw + j) * d.cols;
        for (let oh = 0; oh < d.ho; oh++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= d.h) continue;
          const xr = (plane + ih) * d.w;
          for (let ow = 0; ow < d.wo; ow++) {
            const iw = ow * sw - pw + j * dw;
            if (iw >= 0 && iw < d.w) f(row + oh * d.wo + ow, xr + iw);
          }
        }
      }
    }
  }
}

function im2col(
  conv: Tensor,
  d: ConvDims,
  x: Float32Array,
  b: number,
  g: number,
  col: Float32Array,
) {
  col.fill(0);
  forEachColumn(conv, d, b, g, (c, i) => (col[c] = x[i]));
}

/**
 * conv2d forward: `Y[b,g] = W[g] · im2col(X[b,g])`, over blocks of output
 * channels (a reduced-precision weight is dequantised one block at a time).
 */
export const conv2d: CpuKernel = (n, [xa, wa], out) => {
  const x = f32(xa);
  const geo = convGeometryOf(n);
  const y = f32(out).fill(0);
  if (isDepthwise(geo) && !isQuantizedTensor(wa)) {
    depthwiseForward(geo, x, f32(wa), y);
    return;
  }
  const d = dims(geo);
  const col = new Float32Array(d.rows * d.cols);
  const rows = rowReader(wa, d.rows);
  for (let b = 0; b < d.n; b++) {
    for (let g = 0; g < d.groups; g++) {
      im2col(n, d, x, b, g, col);
      const yOff = (b * d.cout + g * d.coutG) * d.cols;
      for (let c0 = 0; c0 < d.coutG; c0 += WEIGHT_BLOCK_ROWS) {
        const cnt = Math.min(WEIGHT_BLOCK_ROWS, d.coutG - c0);
        const w = rows(g * d.coutG + c0, cnt);
        gemm(cnt, d.cols, d.rows, w.data, w.offset, col, 0, y, yOff + c0 * d.cols);
      }
    }
  }
};

/**
 * Input gradient: `col2im(W[g]ᵀ · dY[b,g])`, the product summed over blocks
 * of output channels in order, each block's weight rows transposed (and
 * dequantised) into a small buffer; with a base (third input),
 * `base + col2im(…)`, summed one sample at a time in a per-sample buffer so
 * the result is the same bits as adding the plain gradient to the base, and
 * `out` may be the base itself.
 */
export const conv2dGradInput: CpuKernel = (n, [dya, wa, basea], out) => {
  const dy = f32(dya);
  const geo = convGeometryOf(n);
  const base = basea === undefined ? undefined : f32(basea);
  if (isDepthwise(geo) && !isQuantizedTensor(wa)) {
    // accumulateConvGrads gives depthwise convs no base; a hand-built one sums a whole copy.
    const part = base ? new Float32Array(out.length) : f32(out).fill(0);
    depthwiseGradInput(geo, dy, f32(wa), part);
    if (base) f32(out).set(part.map((v, i) => base[i] + v));
    return;
  }
  const d = dims(geo);
  const sample = d.cin * d.h * d.w;
  const dx = f32(out);
  if (!base) dx.fill(0);
  const part = base ? new Float32Array(sample) : dx;
  const col = new Float32Array(d.rows * d.cols);
  const rows = rowReader(wa, d.rows);
  const wT = new Float32Array(d.rows * WEIGHT_BLOCK_ROWS);
  for (let b = 0; b < d.n; b++) {
    const at = base ? b * sample : 0;
    if (base) part.fill(0);
    for (let g = 0; g < d.groups; g++) {
      col.fill(0);
      const dyOff = (b * d.cout + g * d.coutG) * d.cols;
      for (let c0 = 0; c0 < d.coutG; c0 += WEIGHT_BLOCK_ROWS) {
        const cnt = Math.min(WEIGHT_BLOCK_ROWS, d.coutG - c0);
        const w = rows(g * d.coutG + c0, cnt);
        transpose(w.data.subarray(w.offset, w.offset + cnt * d.rows), cnt, d.rows, wT);
        gemm(d.rows, d.cols, cnt, wT, 0, dy, dyOff + c0 * d.cols, col, 0);
      }
      forEachColumn(n, d, b, g, (c, i) => (part[i - at] += col[c]));
    }
    if (base) { for (let i = 0; i < sample; i++) dx[at + i] = base[at + i] + part[i]; }
  }
};

/** Weight gradient: `dW[g] = Σ_b dY[b,g] · im2col(X[b,g])ᵀ`. */
export const conv2dGradWeight: CpuKernel = (n, [xa, dya], out) => {
  const x = f32(xa), dy = f32(dya);
  const geo = convGeometryOf(n);
  const dw = f32(out).fill(0);
  if (isDepthwise(geo)) {
    depthwiseGradWeight(geo, x, dy, dw);
    return;
  }
  const d = dims(geo);
  const col = new Float32Array(d.rows * d.cols), colT = new Float32Array(d.rows * d.cols);
  for (let b = 0; b < d.n; b++) {
    for (let g = 0; g < d.groups; g++) {
      im2col(n, d, x, b, g, col);
      const dyOff = (b * d.cout + g * d.coutG) * d.cols;
      gemm(
        d.coutG,
        d.rows,
        d.cols,
        dy,
        dyOff,
        transpose(col, d.rows, d.cols, colT),
        0,
        dw,
        g * d.coutG * d.rows,
      );
    }
  }
};
