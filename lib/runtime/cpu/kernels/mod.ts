/**
 * CPU kernels by op name: the reference semantics of every op.
 * @module
 */
import type { OpName } from "../../../graph/mod.ts";
import type { CpuKernel } from "./kernel.ts";
import * as batchNorm from "./batch_norm.ts";
import * as broadcast from "./broadcast.ts";
import * as conv from "./conv2d.ts";
import * as fused from "./conv2d_bn.ts";
import * as elementwise from "./elementwise.ts";
import * as loss from "./loss.ts";
import * as matmul from "./matmul.ts";
import * as optim from "./optim.ts";
import * as pool from "./pool.ts";
import * as reduce from "./reduce.ts";
import * as pad from "./pad.ts";
import { binarize } from "./binarize.ts";

/**
 * Kernels by op name, one per op (complete by type); null for the sources
 * `input` and `param`, whose values the interpreter takes from the feeds.
 */
export const CPU_KERNELS = {
  input: null,
  param: null,
  add: broadcast.add,
  mul: broadcast.mul,
  sumTo: broadcast.sumTo,
  broadcastTo: broadcast.broadcastTo,
  scale: elementwise.scale,
  fill: elementwise.fill,
  reshape: elementwise.reshape,
  relu: elementwise.relu,
  reluMask: elementwise.reluMask,
  reluGrad: elementwise.reluGrad,
  relu6: elementwise.relu6,
  relu6Mask: elementwise.relu6Mask,
  zeroPad2d: pad.zeroPad2d,
  crop2d: pad.crop2d,
  sigmoid: elementwise.sigmoid,
  sigmoidGrad: elementwise.sigmoidGrad,
  conv2d: conv.conv2d,
  conv2dGradInput: fused.conv2dGradInput,
  conv2dGradWeight: conv.conv2dGradWeight,
  conv2dBn: fused.conv2dBn,
  batchNorm: batchNorm.batchNorm,
  batchNormGradInput: batchNorm.batchNormGradInput,
  batchNormBatchGradInput: batchNorm.batchNormBatchGradInput,
  batchNormGradGamma: batchNorm.batchNormGradGamma,
  avgPool2d: pool.avgPool2d,
  avgPool2dGrad: pool.avgPool2dGrad,
  maxPool2d: pool.maxPool2d,
  maxPool2dIndices: pool.maxPool2dIndices,
  maxPool2dGrad: pool.maxPool2dGrad,
  globalAvgPool: reduce.globalAvgPool,
  channelMean: reduce.channelMean,
  mean: reduce.mean,
  upsampleNearest: reduce.upsampleNearest,
  upsampleNearestGrad: reduce.upsampleNearestGrad,
  matmul: matmul.matmul,
  softmaxCrossEntropy: loss.softmaxCrossEntropy,
  softmaxCrossEntropyGrad: loss.softmaxCrossEntropyGrad,
  binarize,
  sgdUpdate: optim.sgdUpdate,
  adamUpdate: optim.adamUpdate,
} satisfies { readonly [K in OpName]: CpuKernel | null };
