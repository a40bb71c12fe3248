/**
 * DA³ additive attention: for frozen conv→BN pairs, an attention term from
 * the pair's input (or, as an option, the block's input) is added before
 * the activation,
 * `z = relu(bn(conv(x)) + a(x))`, `a(x) = W₂·relu(W₁·gap(x) + b₁) + b₂`
 * broadcast over H×W (`W₁: C_in → C_in/r`, `W₂: C_in/r → C_out`). With a
 * grid `g > 1` the same two layers run as 1×1 convs on `x` average-pooled to
 * g×g and the result is repeated over each cell, so the term varies per
 * region (it keeps the `[N, C_in, g, g]` pooled values). Optionally
 * plus a spatial term: a 3×3 conv of the channel mean of `x`, strided to the
 * output's H×W (a `[N,1,Ho,Wo]` map broadcast over channels). Backward keeps the frozen
 * weights, 1-bit ReLU masks, `gap(x)` (C_in floats per sample), the hidden
 * values, and with the spatial term the channel mean (1/C_in of x): no
 * full-size fp32 activation of the backbone.
 * @module
 */
import {
  add,
  avgPool2d,
  channelMean,
  conv2d,
  globalAvgPool,
  linear,
  param,
  relu,
  reshape,
  ShapeError,
  showShape,
  type Tensor,
  upsampleNearest,
} from "../graph/mod.ts";
import type { Adaptor, ConvBnSpec } from "../models/adaptor.ts";
import { convBnLayer, pairConv } from "../models/conv_bn.ts";
import type { Da3Options } from "./da3_options.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

export type { Da3Options } from "./da3_options.ts";

/** The 1-based stage of a block named `layerK.i`, or 0 when the name has none. */
export function stageOf(blockName: string): number {
  const m = /^layer(\d+)\./.exec(blockName);
  return m ? Number(m[1]) : 0;
}

/** Hidden units of the attention for `cin` input channels and reduction `r`. */
export function hiddenUnits(cin: number, r: number): number {
  return Math.max(1, Math.floor(cin / r));
}

/**
 * The attention term `a(x)` of one pair whose output has shape `out`:
 * `[N, C_out, 1, 1]`, or `[N, C_out, Ho, Wo]` with a grid or the spatial term.
 */
export function additiveAttention(
  x: Tensor,
  pair: ConvBnSpec,
  out: readonly number[],
  options: Da3Options = {},
): Tensor {
  const r = options.reduction ?? 16;
  if (!(r >= 1)) throw new ShapeError("da3", `reduction must be at least 1, got ${r}`);
  const hidden = hiddenUnits(x.shape[1], r);
  const p = `${pair.conv}.da3`;
  const grid = options.grid ?? 1;
  const channel = grid === 1
    ? pooledAttention(x, p, hidden, pair.outChannels)
    : gridAttention(x, p, hidden, pair, out, grid);
  if (!options.spatial) return channel;
  const ws = param(`${p}.spatial.weight`, [1, 1, 3, 3], { init: "zeros" });
  const stride = Math.max(1, Math.round(x.shape[2] / out[2]));
  const map = conv2d(channelMean(x), ws, { stride, padding: 1 });
  if (map.shape[2] !== out[2] || map.shape[3] !== out[3]) {
    throw new ShapeError(
      "da3",
      `spatial term ${showShape(map.shape)} does not match ${pair.conv} ${showShape(out)}`,
    );
  }
  return add(channel, map);
}

/** `W₂·relu(W₁·gap(x) + b₁) + b₂` as `[N, C_out, 1, 1]`. */
function pooledAttention(x: Tensor, p: string, hidden: number, cout: number): Tensor {
  const [n, cin] = x.shape;
  const w1 = param(`${p}.fc1.weight`, [hidden, cin], { init: "he" });
  const b1 = param(`${p}.fc1.bias`, [hidden], { init: "zeros" });
  const w2 = param(`${p}.fc2.weight`, [cout, hidden], { init: "zeros" });
  const b2 = param(`${p}.fc2.bias`, [cout], { init: "zeros" });
  const h = relu(linear(globalAvgPool(x), w1, b1));
  return reshape(linear(h, w2, b2), [n, cout, 1, 1]);
}

/** The same two layers as 1×1 convs over `x` pooled to g×g, repeated over each cell of `out`. */
function gridAttention(
  x: Tensor,
  p: string,
  hidden: number,
  pair: ConvBnSpec,
  out: readonly number[],
  grid: number,
): Tensor {
  const [, cin, h, w] = x.shape;
  if (!Number.isInteger(grid) || [h, w, out[2], out[3]].some((d) => d % grid !== 0)) {
    throw new ShapeError(
      "da3",
      `grid ${grid} must divide ${pair.conv}'s input ${showShape(x.shape)} and output ${
        showShape(out)
      }`,
    );
  }
  const w1 = param(`${p}.fc1.weight`, [hidden, cin, 1, 1], { init: "he" });
  const b1 = param(`${p}.fc1.bias`, [1, hidden, 1, 1], { init: "zeros" });
  const w2 = param(`${p}.fc2.weight`, [pair.outChannels, hidden, 1, 1], { init: "zeros" });
  const b2 = param(`${p}.fc2.bias`, [1, pair.outChannels, 1, 1], { init: "zeros" });
  const pooled = avgPool2d(x, { kernel: [h / grid, w / grid] });
  const hid = relu(add(conv2d(pooled, w1), b1));
  return upsampleNearest(add(conv2d(hid, w2), b2), out[2] / grid);
}

/** The stem's additive term: a zero-initialised conv of the image with the stem conv's geometry. */
function stemTerm(x: Tensor, pair: ConvBnSpec): Tensor {
  const { outChannels: o, inChannels: i, kernel: k } = pair;
  return pairConv(x, pair, param(`${pair.conv}.da3.weight`, [o, i, k, k], { init: "zeros" }));
}

/** Frozen backbone with eval statistics; additive attention on block pairs; new head. */
export function da3(options: Da3Options = {}): Method {
  const placement = options.placement ?? "every";
  const adaptor: Adaptor = {
    name: "da3",
    convBn: (x, pair, ctx) => {
      const y = convBnLayer(x, pair);
      if (pair.role === "stem") return options.stem ? add(y, stemTerm(x, pair)) : y;
      const inStage = !options.stages ||
        options.stages.includes(stageOf(ctx.block?.name ?? ""));
      const adapted = pair.role === "main" && inStage && (placement === "every" || pair.last);
      if (!adapted) return y;
      const source = options.source === "block" ? ctx.blockInput : x;
      return add(y, additiveAttention(source, pair, y.shape, options));
    },
  };
  const scale = options.lrScale ?? 1;
  const lrScale = (name: string) => (name.includes(".da3.") ? scale : 1);
  return { name: "da3", adaptor, storedBits: FULL_PRECISION, lrScale };
}
