/**
 * Every op da3 knows, with its backward rule (`null` for ops that are never
 * differentiated: backward-only ops, sources handled by autodiff itself).
 * @module
 */
import type { BackwardRule } from "./rule.ts";
import { batchNormBackward } from "./ops/batch_norm.ts";
import {
  addBackward,
  broadcastToBackward,
  mulBackward,
  scaleBackward,
  sumToBackward,
} from "./ops/broadcast.ts";
import { conv2dBackward } from "./ops/conv2d.ts";
import { softmaxCrossEntropyBackward } from "./ops/loss.ts";
import { matmulBackward } from "./ops/matmul.ts";
import { avgPool2dBackward, maxPool2dBackward } from "./ops/pool.ts";
import { channelMeanBackward, globalAvgPoolBackward, meanBackward } from "./ops/reduce.ts";
import { reluBackward } from "./ops/relu.ts";
import { reshapeBackward } from "./ops/reshape.ts";
import { sigmoidBackward } from "./ops/sigmoid.ts";
import { upsampleNearestBackward } from "./ops/upsample.ts";
import { binarizeBackward } from "./ops/binarize.ts";

/** Backward rules by op name; `null` marks ops with no gradient rule. */
export const BACKWARD: Readonly<Record<string, BackwardRule | null>> = {
  input: null,
  param: null,
  fill: null,
  add: addBackward,
  mul: mulBackward,
  scale: scaleBackward,
  sumTo: sumToBackward,
  broadcastTo: broadcastToBackward,
  conv2d: conv2dBackward,
  conv2dGradInput: null,
  conv2dGradWeight: null,
  batchNorm: batchNormBackward,
  batchNormGradInput: null,
  batchNormBatchGradInput: null,
  batchNormGradGamma: null,
  relu: reluBackward,
  reluMask: null,
  reluGrad: null,
  sigmoid: sigmoidBackward,
  sigmoidGrad: null,
  avgPool2d: avgPool2dBackward,
  avgPool2dGrad: null,
  maxPool2d: maxPool2dBackward,
  maxPool2dIndices: null,
  maxPool2dGrad: null,
  globalAvgPool: globalAvgPoolBackward,
  channelMean: channelMeanBackward,
  mean: meanBackward,
  upsampleNearest: upsampleNearestBackward,
  upsampleNearestGrad: null,
  reshape: reshapeBackward,
  matmul: matmulBackward,
  softmaxCrossEntropy: softmaxCrossEntropyBackward,
  softmaxCrossEntropyGrad: null,
  binarize: binarizeBackward,
};

/** The names of every registered op. */
export const OP_NAMES: readonly string[] = Object.keys(BACKWARD);
