/**
 * Depthwise convolution on the CPU (groups = Cin = Cout, one `KH×KW` filter
 * per channel), the fast path of `conv2d` and its gradients for such convs:
 * direct loops over each plane with the valid output range of every kernel
 * tap computed once, so the inner loop has no bounds test. im2col would copy
 * each plane `KH·KW` times for a product with a single row.
 * @module
 */
import type { ConvGeometry } from "../../../graph/mod.ts";

/**
 * Calls `f(plane, yRow, xRow, tap, ow0, ow1, step)` for every sample-channel
 * plane, output row, and kernel tap whose input row is inside the image:
 * output columns `ow0 ≤ ow < ow1` read input column `xRow + ow·step`.
 */
function forEachTap(
  g: ConvGeometry,
  f: (c: number, yRow: number, xRow: number, tap: number, ow0: number, ow1: number) => void,
): void {
  const [n, c, h, w] = g.x, [, , ho, wo] = g.y, [, , kh, kw] = g.w;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const ranges = Array.from({ length: kw }, (_, j) => {
    const off = j * dw - pw;
    const ow0 = Math.max(0, Math.ceil(-off / sw));
    const ow1 = Math.min(wo, Math.floor((w - 1 - off) / sw) + 1);
    return [off, ow0, Math.max(ow0, ow1)];
  });
  for (let p = 0; p < n * c; p++) {
    const ch = p % c;
    for (let oh = 0; oh < ho; oh++) {
      const yRow = (p * ho + oh) * wo;
      for (let i = 0; i < kh; i++) {
        const ih = oh * sh - ph + i * dh;
        if (ih < 0 || ih >= h) continue;
        for (let j = 0; j < kw; j++) {
          const [off, ow0, ow1] = ranges[j];
          f(ch, yRow, (p * h + ih) * w + off, (ch * kh + i) * kw + j, ow0, ow1);
        }
      }
    }
  }
}

/** `y = depthwise(x, w)` into a zeroed `y`. */
export function depthwiseForward(
  g: ConvGeometry,
  x: Float32Array,
  wt: Float32Array,
  y: Float32Array,
): void {
  const sw = g.stride[1];
  forEachTap(g, (_, yRow, xRow, tap, ow0, ow1) => {
    const v = wt[tap];
    for (let ow = ow0; ow < ow1; ow++) y[yRow + ow] += v * x[xRow + ow * sw];
  });
}

/** `dx += Wᵀ dy` (the scatter of every tap) into a zeroed `dx`. */
export function depthwiseGradInput(
  g: ConvGeometry,
  dy: Float32Array,
  wt: Float32Array,
  dx: Float32Array,
): void {
  const sw = g.stride[1];
  forEachTap(g, (_, yRow, xRow, tap, ow0, ow1) => {
    const v = wt[tap];
    for (let ow = ow0; ow < ow1; ow++) dx[xRow + ow * sw] += v * dy[yRow + ow];
  });
}

/** `dw[c, i, j] = Σ dy · x` over samples and positions, into a zeroed `dw`. */
export function depthwiseGradWeight(
  g: ConvGeometry,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
): void {
  const sw = g.stride[1];
  forEachTap(g, (_, yRow, xRow, tap, ow0, ow1) => {
    let s = 0;
    for (let ow = ow0; ow < ow1; ow++) s += dy[yRow + ow] * x[xRow + ow * sw];
    dw[tap] += s;
  });
}
