/**
 * From a graph node to the WGSL dispatches that compute it: one entry per
 * op, each reading shapes and attributes off the node and calling a kernel
 * generator from `kernels/`.
 * @module
 */
import {
  convGeometryOf,
  epilogueAddends,
  gradInputParts,
  numel,
  type OpName,
  type Pads,
  type PoolAttrs,
  scaleCount,
  storageOf,
  type Tensor,
} from "../../graph/mod.ts";
import * as bn from "../../../kernels/batch_norm.ts";
import { binarize } from "../../../kernels/binarize.ts";
import * as broadcast from "../../../kernels/broadcast.ts";
import * as elementwise from "../../../kernels/elementwise.ts";
import * as loss from "../../../kernels/loss.ts";
import * as optim from "../../../kernels/optim.ts";
import * as pad from "../../../kernels/pad.ts";
import * as pool from "../../../kernels/pool.ts";
import * as reduce from "../../../kernels/reduce.ts";
import { matmul } from "../../../kernels/matmul.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../../../kernels/conv2d.ts";
import * as depthwise from "../../../kernels/depthwise.ts";
import type { Kernel, Lowering } from "../../../kernels/wgsl.ts";
import type { WeightFormat } from "../../../kernels/weights.ts";
import { UnsupportedOpError } from "./errors.ts";

type Lower = (n: Tensor) => Lowering;

const one = (k: Kernel): Lowering => ({ kernels: [k], scratchBytes: 0 });
const count = (n: Tensor) => numel(n.shape);
const num = (n: Tensor, k: string) => n.attrs[k] as number;

function bnLayout(t: Tensor): bn.BnLayout {
  const [n, c, h = 1, w = 1] = t.shape;
  return { n, c, s: h * w };
}

function poolGeometry(x: readonly number[], y: readonly number[], n: Tensor): pool.PoolGeometry {
  const a = n.attrs as unknown as PoolAttrs;
  return { x, y, kernel: a.kernel, stride: a.stride, padding: a.padding };
}

/** How a kernel reads value `t`: f32, or the packed layout of a reduced-precision param. */
export function weightFormat(t: Tensor): WeightFormat {
  const storage = storageOf(t);
  if (storage === "u8") return { storage, count: numel(t.shape), scales: scaleCount(t) };
  return { storage };
}

function matmulLowering(n: Tensor): Lowering {
  const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
  const [m, p] = n.shape;
  const k = transA ? n.inputs[0].shape[0] : n.inputs[0].shape[1];
  const g = { m, k, n: p, transA, transB };
  const weights = { a: weightFormat(n.inputs[0]), b: weightFormat(n.inputs[1]) };
  return one(matmul(g, undefined, weights));
}

/** A conv: the depthwise kernel when groups = Cin = Cout, else the general one. */
function conv2dLowering(n: Tensor): Lowering {
  const g = convGeometryOf(n);
  const w = weightFormat(n.inputs[1]);
  if (depthwise.isDepthwise(g)) return one(depthwise.depthwiseConv2d(g, undefined, w));
  return one(conv2d(g, undefined, w));
}

/**
 * A conv's input gradient (with a base when it has one, `dy` scaled by a
 * batch norm when it reads one), depthwise or general.
 */
function conv2dGradInputLowering(n: Tensor): Lowering {
  const g = convGeometryOf(n);
  const w = weightFormat(n.inputs[1]);
  const { base, scale } = gradInputParts(n);
  if (depthwise.isDepthwise(g) && depthwise.everyInputTapped(g)) {
    return one(depthwise.depthwiseGradInput(g, undefined, !!base, w, scale?.eps));
  }
  return one(conv2dGradInput(g, undefined, !!base, w, scale?.eps));
}

/** A conv with a batch norm and addends in its epilogue, depthwise or general. */
function conv2dBnLowering(n: Tensor): Lowering {
  const addends = epilogueAddends(n).map((a) =>
    numel(a.shape) === numel(n.shape) ? "full" as const : "channel" as const
  );
  const epilogue = { eps: num(n, "eps"), addends };
  const g = convGeometryOf(n);
  const w = weightFormat(n.inputs[1]);
  if (depthwise.isDepthwise(g)) return one(depthwise.depthwiseConv2d(g, undefined, w, epilogue));
  return one(conv2d(g, undefined, w, epilogue));
}

/**
 * Lowerings by op name, one per op (complete by type); null for the sources
 * `input` and `param`, which are fed, not computed.
 */
export const LOWERINGS = {
  input: null,
  param: null,
  fill: (n) => one(elementwise.fill(count(n), num(n, "value"))),
  add: (n) => one(broadcast.add(n.inputs[0].shape, n.inputs[1].shape, n.shape)),
  mul: (n) => one(broadcast.mul(n.inputs[0].shape, n.inputs[1].shape, n.shape)),
  scale: (n) => one(elementwise.scale(count(n), num(n, "scale"))),
  sumTo: (n) => one(broadcast.sumTo(n.inputs[0].shape, n.shape)),
  broadcastTo: (n) => one(broadcast.broadcastTo(n.inputs[0].shape, n.shape, num(n, "scale"))),
  conv2d: conv2dLowering,
  conv2dGradInput: conv2dGradInputLowering,
  conv2dBn: conv2dBnLowering,
  conv2dGradWeight: (n) => {
    const g = convGeometryOf(n);
    return depthwise.isDepthwise(g) ? depthwise.depthwiseGradWeight(g) : one(conv2dGradWeight(g));
  },
  batchNorm: (n) => bn.batchNorm(bnLayout(n), n.attrs.mode as "eval" | "batch", num(n, "eps")),
  batchNormGradInput: (n) => bn.batchNormGradInput(bnLayout(n), num(n, "eps")),
  batchNormBatchGradInput: (n) => bn.batchNormBatchGradInput(bnLayout(n), num(n, "eps")),
  batchNormGradGamma: (n) =>
    bn.batchNormGradGamma(
      bnLayout(n.inputs[1]),
      n.attrs.mode as "eval" | "batch",
      num(n, "eps"),
    ),
  relu: (n) => one(elementwise.relu(count(n))),
  reluMask: (n) => one(elementwise.reluMask(count(n))),
  reluGrad: (n) => one(elementwise.reluGrad(count(n))),
  relu6: (n) => one(elementwise.relu6(count(n))),
  relu6Mask: (n) => one(elementwise.relu6Mask(count(n))),
  zeroPad2d: (n) => one(pad.zeroPad2d(n.inputs[0].shape, n.attrs.pads as unknown as Pads)),
  crop2d: (n) => one(pad.crop2d(n.shape, n.attrs.pads as unknown as Pads)),
  sigmoid: (n) => one(elementwise.sigmoid(count(n))),
  sigmoidGrad: (n) => one(elementwise.sigmoidGrad(count(n))),
  avgPool2d: (n) => one(pool.avgPool2d(poolGeometry(n.inputs[0].shape, n.shape, n))),
  avgPool2dGrad: (n) => one(pool.avgPool2dGrad(poolGeometry(n.shape, n.inputs[0].shape, n))),
  maxPool2d: (n) => one(pool.maxPool2d(poolGeometry(n.inputs[0].shape, n.shape, n))),
  maxPool2dIndices: (n) => one(pool.maxPool2dIndices(poolGeometry(n.inputs[0].shape, n.shape, n))),
  maxPool2dGrad: (n) => one(pool.maxPool2dGrad(poolGeometry(n.shape, n.inputs[0].shape, n))),
  globalAvgPool: (n) => one(reduce.globalAvgPool(n.inputs[0].shape)),
  channelMean: (n) => one(reduce.channelMean(n.inputs[0].shape)),
  mean: (n) => one(reduce.mean(count(n.inputs[0]))),
  upsampleNearest: (n) => one(reduce.upsampleNearest(n.inputs[0].shape, num(n, "factor"))),
  upsampleNearestGrad: (n) => one(reduce.upsampleNearestGrad(n.shape, num(n, "factor"))),
  reshape: (n) => one(elementwise.copy(count(n))),
  matmul: matmulLowering,
  softmaxCrossEntropy: (n) =>
    one(loss.softmaxCrossEntropy(n.inputs[0].shape[0], n.inputs[0].shape[1])),
  softmaxCrossEntropyGrad: (n) => one(loss.softmaxCrossEntropyGrad(n.shape[0], n.shape[1])),
  binarize: (n) => one(binarize(count(n), num(n, "threshold"))),
  sgdUpdate: (n) =>
    one(optim.sgdUpdate(count(n), num(n, "lr"), num(n, "momentum"), num(n, "weightDecay"))),
  adamUpdate: (n) =>
    one(
      optim.adamUpdate(
        count(n),
        num(n, "lr"),
        num(n, "beta1"),
        num(n, "beta2"),
        num(n, "eps"),
        num(n, "weightDecay"),
      ),
    ),
} satisfies { readonly [K in OpName]: Lower | null };

/** The dispatches of one non-source node; throws UnsupportedOpError for a source or an unknown op. */
export function lower(n: Tensor): Lowering {
  const f = LOWERINGS[n.op];
  if (!f) throw new UnsupportedOpError(n.op);
  return f(n);
}
