/**
 * TinyTL (Cai et al., 2020), lite residual + bias: the backbone's biases
 * train (da3 takes them as the batch norms' β with eval statistics, since the
 * convs have no bias; a bias gradient reads nothing), and a lite residual
 * branch is added to each block's main-path output before the shortcut and
 * the block's ReLU:
 * `upsample×2(bn(conv1×1(relu(bn(groupconv3×3(avgpool×2(x)))))))`.
 * The branch keeps the downsampled input (¼ of the activation) at 32 bit.
 * TinyTL defines the branch for inverted-residual blocks (MobileNetV2,
 * ProxylessNAS: width = block input × expand, 2 groups); on ResNet blocks,
 * whose inputs reach 2048 channels, da3 sizes it from the block's main-path
 * width and uses groups of at most 64 input channels (at least 2 groups), so
 * the branch stays small next to the block it adapts.
 * Where the spatial size does not divide by 2·stride (7×7 maps of
 * ResNet-50's last stage) the branch runs at full resolution; nearest
 * upsampling stands in for TinyTL's bilinear.
 * @module
 */
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  param,
  relu,
  ShapeError,
  showShape,
  type Tensor,
  upsampleNearest,
} from "../graph/mod.ts";
import type { Adaptor, BlockSpec } from "../models/adaptor.ts";
import { convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

/** Options of {@linkcode tinyTL}. */
export interface TinyTLOptions {
  /**
   * Input channels per group of the lite branch's 3×3 conv (default 64, with
   * at least 2 groups as in TinyTL).
   */
  readonly channelsPerGroup?: number;
  /** Width of the lite branch relative to the block's main-path width (default 1). */
  readonly expand?: number;
  /** Spatial downsampling of the lite branch (default 2). */
  readonly downsample?: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function liteBn(x: Tensor, prefix: string, c: number, gammaInit: "ones" | "zeros"): Tensor {
  return batchNorm(x, {
    gamma: param(`${prefix}.weight`, [c], { init: gammaInit }),
    beta: param(`${prefix}.bias`, [c], { init: "zeros" }),
    mean: param(`${prefix}.running_mean`, [c], { trainable: false, init: "zeros" }),
    variance: param(`${prefix}.running_var`, [c], { trainable: false, init: "ones" }),
  }, { mode: "batch" });
}

/** The lite residual branch of a block, shaped like its main-path output `branch`. */
export function liteResidual(
  x: Tensor,
  branch: Tensor,
  block: BlockSpec,
  options: TinyTLOptions = {},
): Tensor {
  const ratio = options.downsample ?? 2;
  const [, cin, h, w] = x.shape;
  const mid = Math.max(1, Math.round(block.pairs[0].outChannels * (options.expand ?? 1)));
  const wanted = Math.max(2, Math.floor(cin / (options.channelsPerGroup ?? 64)));
  const groups = gcd(gcd(cin, mid), wanted);
  const pooled = ratio > 1 && h % (ratio * block.stride) === 0 && w % (ratio * block.stride) === 0;
  const p = `${block.name}.lite`;
  const source = pooled ? avgPool2d(x, { kernel: ratio }) : x;
  const w1 = param(`${p}.conv1.weight`, [mid, cin / groups, 3, 3], { init: "he" });
  const h1 = relu(liteBn(
    conv2d(source, w1, { stride: block.stride, padding: 1, groups }),
    `${p}.bn1`,
    mid,
    "ones",
  ));
  const cout = branch.shape[1];
  const w2 = param(`${p}.conv2.weight`, [cout, mid, 1, 1], { init: "he" });
  const out = liteBn(conv2d(h1, w2), `${p}.final_bn`, cout, "zeros");
  const up = pooled ? upsampleNearest(out, ratio) : out;
  if (up.shape.some((d, i) => d !== branch.shape[i])) {
    throw new ShapeError(
      "tinyTL",
      `lite residual ${showShape(up.shape)} does not match ${block.name} ${
        showShape(branch.shape)
      }`,
    );
  }
  return up;
}

/** Frozen convs, trainable BN biases (eval statistics), a lite residual per block, new head. */
export function tinyTL(options: TinyTLOptions = {}): Method {
  if (!((options.channelsPerGroup ?? 64) >= 1)) {
    throw new ShapeError("tinyTL", "channelsPerGroup must be at least 1");
  }
  const adaptor: Adaptor = {
    name: "tinytl",
    convBn: (x, pair) => convBnLayer(x, pair, { bn: "bias" }),
    residual: (x, branch, block) => add(branch, liteResidual(x, branch, block, options)),
  };
  return { name: "tinytl", adaptor, storedBits: FULL_PRECISION };
}
