/**
 * The name of every op da3 knows: the one list a new op is added to. The
 * op records (`OPS` in `ops/mod.ts`) and every per-op table of the runtimes
 * are typed `{ [K in OpName]: ... }` over it, so an op missing from any of
 * them is a type error.
 * @module
 */

/** Every op name, grouped by the family file under `ops/` that defines it. */
export const OP_NAMES = [
  // source.ts
  "input",
  "param",
  "fill",
  // broadcast.ts
  "add",
  "mul",
  "scale",
  "sumTo",
  "broadcastTo",
  // conv2d.ts
  "conv2d",
  "conv2dGradInput",
  "conv2dGradWeight",
  // conv2d_bn.ts
  "conv2dBn",
  // batch_norm.ts
  "batchNorm",
  "batchNormGradInput",
  "batchNormBatchGradInput",
  "batchNormGradGamma",
  // relu.ts
  "relu",
  "reluMask",
  "reluGrad",
  // relu6.ts
  "relu6",
  "relu6Mask",
  // pad.ts
  "zeroPad2d",
  "crop2d",
  // sigmoid.ts
  "sigmoid",
  "sigmoidGrad",
  // pool.ts
  "avgPool2d",
  "avgPool2dGrad",
  "maxPool2d",
  "maxPool2dIndices",
  "maxPool2dGrad",
  // reduce.ts
  "globalAvgPool",
  "channelMean",
  "mean",
  // upsample.ts
  "upsampleNearest",
  "upsampleNearestGrad",
  // reshape.ts
  "reshape",
  // matmul.ts
  "matmul",
  // loss.ts
  "softmaxCrossEntropy",
  "softmaxCrossEntropyGrad",
  // binarize.ts
  "binarize",
  // optim.ts
  "sgdUpdate",
  "adamUpdate",
] as const;

/** The name of an op: a key of `OPS` and of every per-op table. */
export type OpName = typeof OP_NAMES[number];
