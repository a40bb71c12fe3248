/**
 * The tensor-graph DSL: plain functions that return immutable, shape-checked
 * nodes.
 * @module
 */
export * from "./tensor.ts";
export * from "./graph.ts";
export { graphFlops, nodeFlops } from "./flops.ts";
export type { BackwardRule } from "./rule.ts";
export { BACKWARD, OP_NAMES } from "./registry.ts";
export * from "./ops/source.ts";
export { add, broadcastShapes, broadcastTo, mul, scale, sumTo } from "./ops/broadcast.ts";
export {
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  type Conv2dOptions,
  type ConvAttrs,
  convAttrs,
  type Pair,
  pair,
  windowOut,
} from "./ops/conv2d.ts";
export { batchNorm, type BatchNormOptions, type BatchNormParams } from "./ops/batch_norm.ts";
export { relu, reluGrad, reluMask } from "./ops/relu.ts";
export { sigmoid } from "./ops/sigmoid.ts";
export { avgPool2d, maxPool2d, type PoolAttrs, type PoolOptions } from "./ops/pool.ts";
export { channelMean, globalAvgPool, mean } from "./ops/reduce.ts";
export { upsampleNearest } from "./ops/upsample.ts";
export { flatten, reshape } from "./ops/reshape.ts";
export { linear, matmul, type MatmulOptions } from "./ops/matmul.ts";
export { softmaxCrossEntropy } from "./ops/loss.ts";
export { binarize } from "./ops/binarize.ts";
export { rewrite, withBatchNorms, withEvalNorms } from "./transform.ts";
