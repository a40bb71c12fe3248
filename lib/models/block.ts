/**
 * Residual blocks: their descriptions (basic and bottleneck, torchvision
 * names) and how a block is built through an {@linkcode Adaptor}.
 * @module
 */
import { add, relu, type Tensor } from "../graph/mod.ts";
import type { Adaptor, BlockSpec, ConvBnSpec } from "./adaptor.ts";

function mainPair(
  block: string,
  i: number,
  count: number,
  geometry: Pick<ConvBnSpec, "inChannels" | "outChannels" | "kernel" | "stride">,
): ConvBnSpec {
  return {
    conv: `${block}.conv${i + 1}`,
    bn: `${block}.bn${i + 1}`,
    ...geometry,
    padding: (geometry.kernel - 1) / 2,
    role: "main",
    index: i,
    last: i === count - 1,
  };
}

function projection(block: string, inC: number, outC: number, stride: number): ConvBnSpec | null {
  if (stride === 1 && inC === outC) return null;
  return {
    conv: `${block}.downsample.0`,
    bn: `${block}.downsample.1`,
    inChannels: inC,
    outChannels: outC,
    kernel: 1,
    stride,
    padding: 0,
    role: "shortcut",
    index: 0,
    last: false,
  };
}

/** A basic block: 3×3 (stride s) → 3×3, with a 1×1+BN projection where the shape changes. */
export function basicBlock(name: string, inC: number, outC: number, stride: number): BlockSpec {
  const pairs = [
    mainPair(name, 0, 2, { inChannels: inC, outChannels: outC, kernel: 3, stride }),
    mainPair(name, 1, 2, { inChannels: outC, outChannels: outC, kernel: 3, stride: 1 }),
  ];
  const shortcut = projection(name, inC, outC, stride);
  return { name, kind: "basic", inChannels: inC, outChannels: outC, stride, pairs, shortcut };
}

/** A bottleneck block (torchvision v1.5: the stride is on the 3×3 conv), expansion 4. */
export function bottleneckBlock(
  name: string,
  inC: number,
  width: number,
  stride: number,
): BlockSpec {
  const outC = 4 * width;
  const pairs = [
    mainPair(name, 0, 3, { inChannels: inC, outChannels: width, kernel: 1, stride: 1 }),
    mainPair(name, 1, 3, { inChannels: width, outChannels: width, kernel: 3, stride }),
    mainPair(name, 2, 3, { inChannels: width, outChannels: outC, kernel: 1, stride: 1 }),
  ];
  const shortcut = projection(name, inC, outC, stride);
  return { name, kind: "bottleneck", inChannels: inC, outChannels: outC, stride, pairs, shortcut };
}

/**
 * The blocks of `layer1…layerK`: `counts[k]` blocks of width `widths[k]`,
 * the first block of every stage but the first with stride 2.
 */
export function stages(
  kind: BlockSpec["kind"],
  inChannels: number,
  widths: readonly number[],
  counts: readonly number[],
): BlockSpec[] {
  const blocks: BlockSpec[] = [];
  let c = inChannels;
  widths.forEach((w, k) => {
    for (let b = 0; b < counts[k]; b++) {
      const stride = b === 0 && k > 0 ? 2 : 1;
      const name = `layer${k + 1}.${b}`;
      const spec = kind === "basic"
        ? basicBlock(name, c, w, stride)
        : bottleneckBlock(name, c, w, stride);
      blocks.push(spec);
      c = spec.outChannels;
    }
  });
  return blocks;
}

/**
 * Builds one block: each main-path pair through `adaptor.convBn` followed by
 * a ReLU (except the last), the optional `adaptor.residual` rewrite, the
 * shortcut (identity or projection pair) and the final ReLU of the sum.
 */
export function buildBlock(x: Tensor, block: BlockSpec, adaptor: Adaptor): Tensor {
  const ctx = { block, blockInput: x };
  let h = x;
  for (const pair of block.pairs) {
    const pre = adaptor.convBn(h, pair, ctx);
    h = pair.last ? pre : relu(pre);
  }
  const branch = adaptor.residual ? adaptor.residual(x, h, block) : h;
  const shortcut = block.shortcut ? adaptor.convBn(x, block.shortcut, ctx) : x;
  return relu(add(branch, shortcut));
}
