/**
 * Convolutions that skip closed channels, for one sample on the CPU (one
 * group). Two representations of the open set:
 *
 * - compacted channel lists (`convChannels`): im2col of the open input
 *   channels only, the weights of open outputs × open inputs gathered into a
 *   dense matrix, one dense product;
 * - masks (`convMasked`): full-size buffers, rows of closed channels left at
 *   zero and skipped inside the product.
 *
 * `tests/gating_bench.ts` measures both; the executor uses the lists. The
 * geometry is the graph's (`convGeometryOf` of the conv node): square
 * kernels, equal strides and paddings on both axes, one group, no dilation;
 * its batch size is ignored.
 * @module
 */
import type { ConvGeometry } from "../graph/mod.ts";
import { gemm } from "../runtime/cpu/kernels/gemm.ts";

/** Writes the im2col rows of input channel `ch` at row block `r` of `col` (`[rows, ho·wo]`). */
function im2colChannel(g: ConvGeometry, x: Float32Array, ch: number, col: Float32Array, r: number) {
  const [, , h, w] = g.x, [, , k] = g.w, [, , ho, wo] = g.y;
  const s = g.stride[0], p = g.padding[0];
  const cols = ho * wo;
  const plane = ch * h * w;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const row = (r * k * k + i * k + j) * cols;
      for (let oh = 0; oh < ho; oh++) {
        const ih = oh * s - p + i;
        const dst = row + oh * wo;
        if (ih < 0 || ih >= h) {
          col.fill(0, dst, dst + wo);
          continue;
        }
        const src = plane + ih * w;
        for (let ow = 0; ow < wo; ow++) {
          const iw = ow * s - p + j;
          col[dst + ow] = iw >= 0 && iw < w ? x[src + iw] : 0;
        }
      }
    }
  }
}

/**
 * The conv of one sample `x` `[cin, h, w]` with `weight` `[cout, cin, k, k]`
 * restricted to output channels `outs` and input channels `ins` (null: all).
 * Returns the compacted output `[outs.length, ho·wo]`, rows in `outs` order.
 * Channels not in `ins` must be zero in `x` for the result to equal the full conv.
 */
export function convChannels(
  g: ConvGeometry,
  x: Float32Array,
  weight: Float32Array,
  ins: Int32Array | null,
  outs: Int32Array | null,
): Float32Array {
  const [cout, cin, k] = g.w;
  const taps = k * k, cols = g.y[2] * g.y[3];
  const nIn = ins ? ins.length : cin, nOut = outs ? outs.length : cout;
  const y = new Float32Array(nOut * cols);
  if (nIn === 0 || nOut === 0) return y;
  const col = new Float32Array(nIn * taps * cols);
  for (let r = 0; r < nIn; r++) im2colChannel(g, x, ins ? ins[r] : r, col, r);
  let a = weight;
  if (ins || outs) {
    const kk = nIn * taps;
    a = new Float32Array(nOut * kk);
    for (let o = 0; o < nOut; o++) {
      const src = (outs ? outs[o] : o) * cin * taps;
      for (let r = 0; r < nIn; r++) {
        const from = src + (ins ? ins[r] : r) * taps;
        a.set(weight.subarray(from, from + taps), o * kk + r * taps);
      }
    }
  }
  gemm(nOut, cols, nIn * taps, a, 0, col, 0, y, 0);
  return y;
}

/**
 * The same conv with masks: `inOpen[i]`/`outOpen[o]` non-zero for open
 * channels. Returns the full `[cout, ho·wo]` output; closed rows stay zero,
 * closed input rows are neither gathered nor multiplied.
 */
export function convMasked(
  g: ConvGeometry,
  x: Float32Array,
  weight: Float32Array,
  inOpen: Uint8Array,
  outOpen: Uint8Array,
): Float32Array {
  const [cout, cin, k] = g.w;
  const taps = k * k, cols = g.y[2] * g.y[3], rows = cin * taps;
  const y = new Float32Array(cout * cols);
  const col = new Float32Array(rows * cols);
  for (let i = 0; i < cin; i++) if (inOpen[i]) im2colChannel(g, x, i, col, i);
  for (let o = 0; o < cout; o++) {
    if (!outOpen[o]) continue;
    const yo = o * cols, wo = o * rows;
    for (let i = 0; i < cin; i++) {
      if (!inOpen[i]) continue;
      for (let t = 0; t < taps; t++) {
        const v = weight[wo + i * taps + t];
        const cr = (i * taps + t) * cols;
        for (let j = 0; j < cols; j++) y[yo + j] += v * col[cr + j];
      }
    }
  }
  return y;
}
