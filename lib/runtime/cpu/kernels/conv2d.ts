/**
 * Convolution on the CPU as im2col + matrix products, per sample and group,
 * and its two backward ops (col2im for the input gradient); depthwise convs
 * take the direct loops of `depthwise.ts`.
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
import { gemm, transpose } from "./gemm.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

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

/** conv2d forward: `Y[b,g] = W[g] · im2col(X[b,g])`. */
export const conv2d: CpuKernel = (n, [xa, wa], out) => {
  const x = f32(xa), wt = f32(wa);
  const geo = convGeometryOf(n);
  const y = f32(out).fill(0);
  if (isDepthwise(geo)) {
    depthwiseForward(geo, x, wt, y);
    return;
  }
  const d = dims(geo);
  const col = new Float32Array(d.rows * d.cols);
  for (let b = 0; b < d.n; b++) {
    for (let g = 0; g < d.groups; g++) {
      im2col(n, d, x, b, g, col);
      const yOff = (b * d.cout + g * d.coutG) * d.cols;
      gemm(d.coutG, d.cols, d.rows, wt, g * d.coutG * d.rows, col, 0, y, yOff);
    }
  }
};

/**
 * Input gradient: `col2im(W[g]ᵀ · dY[b,g])`; with a base (third input),
 * `base + col2im(…)`, summed one sample at a time in a per-sample buffer so
 * the result is the same bits as adding the plain gradient to the base, and
 * `out` may be the base itself.
 */
export const conv2dGradInput: CpuKernel = (n, [dya, wa, basea], out) => {
  const dy = f32(dya), wt = f32(wa);
  const geo = convGeometryOf(n);
  const base = basea === undefined ? undefined : f32(basea);
  if (isDepthwise(geo)) {
    // accumulateConvGrads gives depthwise convs no base; a hand-built one sums a whole copy.
    const part = base ? new Float32Array(out.length) : f32(out).fill(0);
    depthwiseGradInput(geo, dy, wt, part);
    if (base) f32(out).set(part.map((v, i) => base[i] + v));
    return;
  }
  const d = dims(geo);
  const sample = d.cin * d.h * d.w;
  const dx = f32(out);
  if (!base) dx.fill(0);
  const part = base ? new Float32Array(sample) : dx;
  const col = new Float32Array(d.rows * d.cols);
  const wT = Array.from(
    { length: d.groups },
    (_, g) =>
      transpose(wt.subarray(g * d.coutG * d.rows, (g + 1) * d.coutG * d.rows), d.coutG, d.rows),
  );
  for (let b = 0; b < d.n; b++) {
    const at = base ? b * sample : 0;
    if (base) part.fill(0);
    for (let g = 0; g < d.groups; g++) {
      col.fill(0);
      gemm(d.rows, d.cols, d.coutG, wT[g], 0, dy, (b * d.cout + g * d.coutG) * d.cols, col, 0);
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
