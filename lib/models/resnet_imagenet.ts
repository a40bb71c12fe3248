/**
 * ImageNet-style ResNets exactly as torchvision builds them (v1.5: the
 * bottleneck's stride on its 3×3 conv): 7×7 stride-2 stem, 3×3 stride-2 max
 * pool, four stages, global average pooling and a new linear head. Parameter
 * names and shapes equal torchvision's state_dict keys.
 * @module
 */
import { maxPool2d, relu } from "../graph/mod.ts";
import type { ConvBnSpec } from "./adaptor.ts";
import { buildBlock, stages } from "./block.ts";
import { classifierHead } from "./head.ts";
import { imageInput, type Model, type ModelOptions } from "./model.ts";

/** The 7×7, stride-2, 64-channel stem. */
export const IMAGENET_STEM: ConvBnSpec = {
  conv: "conv1",
  bn: "bn1",
  inChannels: 3,
  outChannels: 64,
  kernel: 7,
  stride: 2,
  padding: 3,
  role: "stem",
  index: 0,
  last: false,
};

const WIDTHS = [64, 128, 256, 512] as const;

function imagenetResnet(
  name: string,
  kind: "basic" | "bottleneck",
  counts: readonly number[],
  options: ModelOptions,
): Model {
  const x = imageInput(options.batch, options.size ?? 224);
  const { adaptor } = options;
  const stem = relu(adaptor.convBn(x, IMAGENET_STEM, { block: null, blockInput: x }));
  let h = maxPool2d(stem, { kernel: 3, stride: 2, padding: 1 });
  const blocks = stages(kind, 64, WIDTHS, counts);
  for (const b of blocks) h = buildBlock(h, b, adaptor);
  const logits = classifierHead(h, options.classes);
  return { name, input: x, logits, stem: IMAGENET_STEM, blocks };
}

/** ResNet-18: basic blocks [2,2,2,2] (11,689,512 parameters with 1000 classes). */
export function resnet18(options: ModelOptions): Model {
  return imagenetResnet("resnet18", "basic", [2, 2, 2, 2], options);
}

/** ResNet-50: bottleneck blocks [3,4,6,3] (25,557,032 parameters with 1000 classes). */
export function resnet50(options: ModelOptions): Model {
  return imagenetResnet("resnet50", "bottleneck", [3, 4, 6, 3], options);
}
