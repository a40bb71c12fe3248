/**
 * CIFAR-style ResNets (He et al. 2016, §4.2): a 3×3 stem with 16 channels,
 * three stages of basic blocks with 16/32/64 channels, 1×1 conv + BN
 * projection shortcuts where the shape changes (option B), global average
 * pooling and a new linear head. Parameter names follow torchvision's scheme
 * (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`).
 * @module
 */
import { relu, ShapeError } from "../graph/mod.ts";
import type { ConvBnSpec } from "./adaptor.ts";
import { buildBlock, stages } from "./block.ts";
import { classifierHead } from "./head.ts";
import { imageInput, type Model, type ModelOptions } from "./model.ts";

/** The 3×3, 16-channel stem of CIFAR ResNets. */
export const CIFAR_STEM: ConvBnSpec = {
  conv: "conv1",
  bn: "bn1",
  inChannels: 3,
  outChannels: 16,
  kernel: 3,
  stride: 1,
  padding: 1,
  role: "stem",
  index: 0,
  last: false,
};

/** A CIFAR ResNet of depth `6n + 2` (20, 32, 44, 56, 110, …) on `size`×`size` input (default 32). */
export function cifarResnet(depth: number, options: ModelOptions): Model {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(n) || n < 1) {
    throw new ShapeError("cifarResnet", `depth must be 6n+2 with n ≥ 1, got ${depth}`);
  }
  const size = options.size ?? 32;
  const x = imageInput(options.batch, size);
  const blocks = stages("basic", 16, [16, 32, 64], [n, n, n]);
  const { adaptor } = options;
  let h = relu(adaptor.convBn(x, CIFAR_STEM, { block: null, blockInput: x }));
  for (const b of blocks) h = buildBlock(h, b, adaptor);
  const logits = classifierHead(h, options.classes);
  return { name: `resnet${depth}`, input: x, logits, stem: CIFAR_STEM, blocks };
}

/** ResNet-20 for 32×32 images (≈0.27 M parameters with 10 classes). */
export function resnet20(options: ModelOptions): Model {
  return cifarResnet(20, options);
}

/** ResNet-56 for 32×32 images (≈0.86 M parameters with 10 classes). */
export function resnet56(options: ModelOptions): Model {
  return cifarResnet(56, options);
}
