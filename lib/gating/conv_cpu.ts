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
 * `tests/gating_bench.ts` measures both; the executor uses the lists.
 * @module
 */
import { gemm } from "../runtime/cpu/kernels/gemm.ts";

/** Geometry of a one-group conv applied to one sample. */
export interface ConvGeometry {
  /** Input channels. */
  readonly cin: number;
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Output channels. */
  readonly cout: number;
  /** Kernel side (square). */
  readonly k: number;
  /** Stride (both axes). */
  readonly stride: number;
  /** Zero padding (both axes). */
  readonly padding: number;
  /** Output height. */
  readonly ho: number;
  /** Output width. */
  readonly wo: number;
}

/** Writes the im2col rows of input channel `ch` at row block `r` of `col` (`[rows, ho·wo]`). */
function im2colChannel(g: ConvGeometry, x: Float32Array, ch: number, col: Float32Array, r: number) {
  const { h, w, k, stride: s, padding: p, ho, wo } = g;
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
  const taps = g.k * g.k, cols = g.ho * g.wo;
  const nIn = ins ? ins.length : g.cin, nOut = outs ? outs.length : g.cout;
  const y = new Float32Array(nOut * cols);
  if (nIn === 0 || nOut === 0) return y;
  const col = new Float32Array(nIn * taps * cols);
  for (let r = 0; r < nIn; r++) im2colChannel(g, x, ins ? ins[r] : r, col, r);
  let a = weight;
  if (ins || outs) {
    const kk = nIn * taps;
    a = new Float32Array(nOut * kk);
    for (let o = 0; o < nOut; o++) {
      const src = (outs ? outs[o] : o) * g.cin * taps;
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
  const taps = g.k * g.k, cols = g.ho * g.wo, rows = g.cin * taps;
  const y = new Float32Array(g.cout * cols);
  const col = new Float32Array(rows * cols);
  for (let i = 0; i < g.cin; i++) if (inOpen[i]) im2colChannel(g, x, i, col, i);
  for (let o = 0; o < g.cout; o++) {
    if (!outOpen[o]) continue;
    const yo = o * cols, wo = o * rows;
    for (let i = 0; i < g.cin; i++) {
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

/** The geometry of a conv node's one-sample application (`x` `[1,cin,h,w]`, `y` `[1,cout,ho,wo]`). */
export function convGeometry(
  x: readonly number[],
  y: readonly number[],
  k: number,
  stride: number,
  padding: number,
): ConvGeometry {
  return { cin: x[1], h: x[2], w: x[3], cout: y[1], k, stride, padding, ho: y[2], wo: y[3] };
}
