/**
 * MobileNetV2 (Sandler et al. 2018, α = 1.0) exactly as Keras builds it, so
 * the nsfwjs backbone in `models/mobilenetv2.safetensors` loads by name:
 * Keras layer names (`Conv1`/`bn_Conv1`, `expanded_conv_depthwise`,
 * `block_N_expand|depthwise|project` with `_BN`, `Conv_1`/`Conv_1_bn`) with
 * da3's parameter suffixes (`.weight`, `.bias`, `.running_mean`,
 * `.running_var`), BN ε = 1e-3, ReLU6 after the expand and depthwise pairs,
 * a linear project, a residual add where the block keeps its shape, and
 * TF 'same' padding at stride 2 (one zero row and column at the bottom and
 * right). Every pair goes through the {@linkcode Adaptor}; the network is cut
 * after `block_10`, `block_13`, `block_16` or `Conv_1` and ends in a new head.
 * @module
 */
import { add, relu6, ShapeError, type Tensor } from "../graph/mod.ts";
import type { Adaptor, BlockSpec, ConvBnSpec, PairContext } from "./adaptor.ts";
import { classifierHead } from "./head.ts";
import { imageInput, type Model, type ModelOptions } from "./model.ts";

/** Where the backbone ends: after one of these blocks, or after the 1280-channel `Conv_1`. */
export type MobilenetV2Cut = "block_10" | "block_13" | "block_16" | "Conv_1";

/** The cut points, shallowest first. */
export const MOBILENET_V2_CUTS: readonly MobilenetV2Cut[] = [
  "block_10",
  "block_13",
  "block_16",
  "Conv_1",
];

/** Options of {@linkcode mobilenetV2}. */
export interface MobilenetV2Options extends ModelOptions {
  /** Where the backbone ends (default `Conv_1`). */
  readonly cut?: MobilenetV2Cut;
}

/** A built MobileNetV2: the model plus the features the head pools and its head pair. */
export interface MobilenetV2Model extends Model {
  /** The backbone output at the cut, `[N, C, H, W]` (before the head's pooling). */
  readonly features: Tensor;
  /** `Conv_1` when the cut includes it, else null. */
  readonly headPair: ConvBnSpec | null;
}

const EPS = 1e-3;
const SAME_STRIDE_2: readonly [number, number, number, number] = [0, 1, 0, 1];

/** Expansion t, output channels c, repeats n, first stride s of each stage (the paper's table 2). */
const STAGES = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

function pair(
  conv: string,
  bn: string,
  inChannels: number,
  outChannels: number,
  geometry: { kernel: number; stride: number; depthwise?: boolean },
  role: ConvBnSpec["role"],
  index: number,
  last: boolean,
): ConvBnSpec {
  const { kernel, stride } = geometry;
  const same = kernel === 3 && stride === 2;
  return {
    conv,
    bn,
    inChannels,
    outChannels,
    kernel,
    stride,
    padding: (kernel - 1) / 2,
    ...(same ? { pads: SAME_STRIDE_2 } : {}),
    ...(geometry.depthwise ? { groups: inChannels } : {}),
    bnEps: EPS,
    role,
    index,
    last,
  };
}

/** The stem: `Conv1` 3×3 stride 2 (TF 'same'), 32 channels, `bn_Conv1`. */
export const MOBILENET_V2_STEM: ConvBnSpec = pair(
  "Conv1",
  "bn_Conv1",
  3,
  32,
  { kernel: 3, stride: 2 },
  "stem",
  0,
  false,
);

/** The head pair `Conv_1` (1×1, 320 → 1280) with `Conv_1_bn`. */
export const MOBILENET_V2_HEAD_PAIR: ConvBnSpec = pair(
  "Conv_1",
  "Conv_1_bn",
  320,
  1280,
  { kernel: 1, stride: 1 },
  "head",
  0,
  false,
);

/** One inverted-residual block: expand (when t > 1), depthwise, project. */
export function invertedBlock(
  name: string,
  inC: number,
  outC: number,
  expansion: number,
  stride: number,
): BlockSpec {
  const mid = inC * expansion;
  const prefix = name === "block_0" ? "expanded_conv" : name;
  const pairs: ConvBnSpec[] = [];
  if (expansion !== 1) {
    pairs.push(
      pair(
        `${prefix}_expand`,
        `${prefix}_expand_BN`,
        inC,
        mid,
        { kernel: 1, stride: 1 },
        "main",
        0,
        false,
      ),
    );
  }
  pairs.push(
    pair(
      `${prefix}_depthwise`,
      `${prefix}_depthwise_BN`,
      mid,
      mid,
      {
        kernel: 3,
        stride,
        depthwise: true,
      },
      "main",
      pairs.length,
      false,
    ),
  );
  pairs.push(
    pair(
      `${prefix}_project`,
      `${prefix}_project_BN`,
      mid,
      outC,
      { kernel: 1, stride: 1 },
      "main",
      pairs.length,
      true,
    ),
  );
  const residual = stride === 1 && inC === outC;
  return {
    name: prefix,
    kind: "inverted",
    inChannels: inC,
    outChannels: outC,
    stride,
    pairs,
    shortcut: null,
    residual,
  };
}

/** The 17 blocks `expanded_conv`, `block_1` … `block_16`. */
export function mobilenetV2Blocks(): BlockSpec[] {
  const blocks: BlockSpec[] = [];
  let c = 32;
  for (const [t, out, n, s] of STAGES) {
    for (let i = 0; i < n; i++) {
      blocks.push(invertedBlock(`block_${blocks.length}`, c, out, t, i === 0 ? s : 1));
      c = out;
    }
  }
  return blocks;
}

/**
 * Builds one inverted-residual block: every pair through `adaptor.convBn`,
 * ReLU6 after all but the project, the optional `adaptor.residual` rewrite,
 * then the identity add where the block keeps its shape (no activation after).
 */
export function buildInvertedBlock(x: Tensor, block: BlockSpec, adaptor: Adaptor): Tensor {
  const ctx: PairContext = { block, blockInput: x };
  let h = x;
  for (const p of block.pairs) {
    const pre = adaptor.convBn(h, p, ctx);
    h = p.last ? pre : relu6(pre);
  }
  const branch = adaptor.residual ? adaptor.residual(x, h, block) : h;
  return block.residual === false ? branch : add(branch, x);
}

/** The stride-2 layers (stem included) before `cut`: the input side must divide by 2 to this power. */
export function mobilenetV2Halvings(cut: MobilenetV2Cut): number {
  const last = cut === "Conv_1" ? Infinity : Number(cut.slice("block_".length));
  return 1 + mobilenetV2Blocks().filter((b, i) => i <= last && b.stride === 2).length;
}

/**
 * Why `size` cannot be MobileNetV2's input side for `cut` (an odd map would
 * reach a stride-2 layer), or undefined when it can.
 */
export function mobilenetV2SizeIssue(size: number, cut: MobilenetV2Cut): string | undefined {
  const halvings = mobilenetV2Halvings(cut), unit = 2 ** halvings;
  if (Number.isInteger(size) && size >= unit && size % unit === 0) return undefined;
  return `input side ${size} must be a positive multiple of ${unit} for cut ${cut}: each of its ${halvings} stride-2 layers pads an even map at the bottom/right only (TF 'same'), which differs from Keras on odd maps`;
}

function checkSize(size: number, cut: MobilenetV2Cut): void {
  const issue = mobilenetV2SizeIssue(size, cut);
  if (issue) throw new ShapeError("mobilenetV2", issue);
}

/**
 * MobileNetV2 with a new `classes`-way head (global average pool + linear
 * `fc`) on the features at `cut` (default `Conv_1`, 1280 channels; `block_10`
 * gives 96). Input `[batch, 3, size, size]` RGB in [0, 1] (default size 224);
 * `size` must divide by 32 (by 16 for `block_10`).
 */
export function mobilenetV2(options: MobilenetV2Options): MobilenetV2Model {
  const cut = options.cut ?? "Conv_1";
  if (!MOBILENET_V2_CUTS.includes(cut)) {
    throw new ShapeError(
      "mobilenetV2",
      `cut must be one of ${MOBILENET_V2_CUTS.join(", ")}, got ${cut}`,
    );
  }
  const all = mobilenetV2Blocks();
  const last = cut === "Conv_1" ? all.length - 1 : Number(cut.slice("block_".length));
  const blocks = all.slice(0, last + 1);
  const size = options.size ?? 224;
  checkSize(size, cut);
  const x = imageInput(options.batch, size);
  const { adaptor } = options;
  let h = relu6(adaptor.convBn(x, MOBILENET_V2_STEM, { block: null, blockInput: x }));
  for (const b of blocks) h = buildInvertedBlock(h, b, adaptor);
  const headPair = cut === "Conv_1" ? MOBILENET_V2_HEAD_PAIR : null;
  if (headPair) h = relu6(adaptor.convBn(h, headPair, { block: null, blockInput: h }));
  const logits = classifierHead(h, options.classes);
  return {
    name: cut === "Conv_1" ? "mobilenetv2" : `mobilenetv2-${cut}`,
    input: x,
    logits,
    stem: MOBILENET_V2_STEM,
    blocks,
    features: h,
    headPair,
  };
}
