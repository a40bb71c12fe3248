/**
 * Means over axes: global average pooling, the channel mean and the mean of
 * all elements. Their backward keeps nothing but shapes.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, numel, type Tensor } from "../tensor.ts";
import { broadcastTo } from "./broadcast.ts";
import { reshape } from "./reshape.ts";

/** `[N,C,H,W]` → `[N,C]`, the mean over H×W. */
export function globalAvgPool(x: Tensor): Tensor {
  checkRank("globalAvgPool", "x", x, 4);
  return node("globalAvgPool", [x], [x.shape[0], x.shape[1]]);
}

/** `[N,C,H,W]` → `[N,1,H,W]`, the mean over channels. */
export function channelMean(x: Tensor): Tensor {
  checkRank("channelMean", "x", x, 4);
  const [n, , h, w] = x.shape;
  return node("channelMean", [x], [n, 1, h, w]);
}

/** The mean of all elements, a scalar (shape `[]`). */
export function mean(x: Tensor): Tensor {
  return node("mean", [x], []);
}

/** globalAvgPool: the gradient is spread over H×W. */
export const globalAvgPoolBackward: BackwardRule = (n, dy) => {
  const [b, c, h, w] = n.inputs[0].shape;
  return [broadcastTo(reshape(dy, [b, c, 1, 1]), n.inputs[0].shape, 1 / (h * w))];
};

/** channelMean: the gradient is spread over channels. */
export const channelMeanBackward: BackwardRule = (n, dy) => [
  broadcastTo(dy, n.inputs[0].shape, 1 / n.inputs[0].shape[1]),
];

/** mean: the gradient is spread over every element. */
export const meanBackward: BackwardRule = (n, dy) => [
  broadcastTo(dy, n.inputs[0].shape, 1 / numel(n.inputs[0].shape)),
];

/** The records of the means (per sample except the mean of all elements). */
export const REDUCE_OPS = {
  globalAvgPool: {
    build: globalAvgPool,
    backward: globalAvgPoolBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  channelMean: {
    build: channelMean,
    backward: channelMeanBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  mean: {
    build: mean,
    backward: meanBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
