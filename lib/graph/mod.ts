/**
 * The tensor-graph DSL: plain functions that return immutable, shape-checked
 * nodes.
 * @module
 */
export * from "./tensor.ts";
export * from "./graph.ts";
export { graphFlops, nodeFlops } from "./flops.ts";
export type { BackwardRule } from "./rule.ts";
export { OP_NAMES, type OpName } from "./op_names.ts";
export type { OpDef } from "./op.ts";
export { inPlaceArgs, isPerSample, opDef, OPS } from "./ops/mod.ts";
export {
  fill,
  type Init,
  input,
  isTrainable,
  param,
  PARAM_STORAGES,
  type ParamOptions,
  type ParamStorage,
  type ScaleGranularity,
  sourceName,
} from "./ops/source.ts";
export {
  checkQuantizedReads,
  isQuantized,
  QUANTIZED_READS,
  readsQuantized,
  scaleCount,
  storageOf,
  storedBytes,
  withFrozenStorage,
} from "./storage.ts";
export { add, broadcastShapes, broadcastTo, mul, scale, sumTo } from "./ops/broadcast.ts";
export {
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  type Conv2dOptions,
  type ConvAttrs,
  convAttrs,
  convAttrsOf,
  type ConvGeometry,
  convGeometry,
  convGeometryOf,
  gradInputParts,
  type GradInputScale,
  isDepthwise,
  type Pair,
  pair,
  windowOut,
} from "./ops/conv2d.ts";
export {
  conv2dBn,
  CONV_BN_FIXED_INPUTS,
  epilogueAddends,
  isEpilogueAddend,
} from "./ops/conv2d_bn.ts";
export { fuseConvBn } from "./fuse_conv_bn.ts";
export { batchNorm, type BatchNormOptions, type BatchNormParams } from "./ops/batch_norm.ts";
export { relu, reluGrad, reluMask } from "./ops/relu.ts";
export { relu6, relu6Mask } from "./ops/relu6.ts";
export { crop2d, type Pads, zeroPad2d } from "./ops/pad.ts";
export { sigmoid, sigmoidGrad } from "./ops/sigmoid.ts";
export {
  avgPool2d,
  avgPool2dGrad,
  maxPool2d,
  maxPool2dGrad,
  maxPool2dIndices,
  type PoolAttrs,
  type PoolOptions,
} from "./ops/pool.ts";
export { channelMean, globalAvgPool, mean } from "./ops/reduce.ts";
export { upsampleNearest, upsampleNearestGrad } from "./ops/upsample.ts";
export { flatten, reshape } from "./ops/reshape.ts";
export { linear, matmul, type MatmulOptions } from "./ops/matmul.ts";
export { softmaxCrossEntropy, softmaxCrossEntropyGrad } from "./ops/loss.ts";
export { binarize } from "./ops/binarize.ts";
export {
  type AdamRule,
  adamUpdate,
  isOptimizerState,
  isUpdate,
  OPTIMIZER_STEP_INPUT,
  optimizerState,
  optimizerStepInput,
  optimizerStepValues,
  type SgdRule,
  sgdUpdate,
  stateSlots,
  type UpdateRule,
  updateState,
} from "./ops/optim.ts";
export { rewrite, withBatchNorms, withEvalNorms } from "./transform.ts";
