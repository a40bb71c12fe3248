/**
 * The extension points a backbone offers to an adaptation method: a
 * description of each conv→BN pair and each residual block, and the
 * {@linkcode Adaptor} functions that decide how they are built.
 * @module
 */
import type { Pads, Tensor } from "../graph/mod.ts";

/**
 * Where a conv→BN pair sits in the network: the stem, a block's main path, a
 * block's projection shortcut, or a head pair after the last block (e.g.
 * MobileNetV2's `Conv_1`).
 */
export type PairRole = "stem" | "main" | "shortcut" | "head";

/**
 * One conv→BN pair of a backbone, described by its parameter names and
 * geometry. Its weights are `${conv}.weight` and `${bn}.weight|bias|running_mean|running_var`.
 */
export interface ConvBnSpec {
  /** Parameter prefix of the conv, e.g. `layer1.0.conv1` or `layer2.0.downsample.0`. */
  readonly conv: string;
  /** Parameter prefix of its batch norm, e.g. `layer1.0.bn1` or `layer2.0.downsample.1`. */
  readonly bn: string;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Square kernel side. */
  readonly kernel: number;
  /** Stride (both axes). */
  readonly stride: number;
  /** Zero padding (both axes); with `pads`, the symmetric padding giving the same output size. */
  readonly padding: number;
  /**
   * Exact zero padding `[top, bottom, left, right]` of the pair's own conv
   * where it is asymmetric (TF 'same' at stride 2: `[0, 1, 0, 1]`); absent: `padding`.
   */
  readonly pads?: Pads;
  /** Channel groups of the conv (default 1; a depthwise conv has `inChannels`). */
  readonly groups?: number;
  /** Batch-norm ε (default 1e-5, PyTorch's; Keras uses 1e-3). */
  readonly bnEps?: number;
  /** The stem, a pair on a block's main path, or a block's projection shortcut. */
  readonly role: PairRole;
  /** Position on the block's main path (0 for the stem and shortcuts). */
  readonly index: number;
  /** True for the last pair of a block's main path: its activation follows the residual add. */
  readonly last: boolean;
}

/** One residual block: its main-path pairs and optional projection shortcut. */
export interface BlockSpec {
  /** Parameter prefix, e.g. `layer3.1`. */
  readonly name: string;
  /**
   * `basic` (two 3×3 convs), `bottleneck` (1×1, 3×3, 1×1) or `inverted`
   * (MobileNetV2: 1×1 expand, 3×3 depthwise, linear 1×1 project).
   */
  readonly kind: "basic" | "bottleneck" | "inverted";
  /** Channels into the block. */
  readonly inChannels: number;
  /** Channels out of the block. */
  readonly outChannels: number;
  /** Stride of the block (on its 3×3 conv and its shortcut). */
  readonly stride: number;
  /** The main path, in order. */
  readonly pairs: readonly ConvBnSpec[];
  /** The 1×1 conv + BN projection where the shape changes, else null (identity). */
  readonly shortcut: ConvBnSpec | null;
  /** False for a block with no skip connection at all (an inverted block whose shape changes); default true. */
  readonly residual?: boolean;
}

/** What an adaptor knows when it builds a pair. */
export interface PairContext {
  /** The enclosing block, or null for the stem. */
  readonly block: BlockSpec | null;
  /** The input of the enclosing block (the network input for the stem). */
  readonly blockInput: Tensor;
}

/**
 * How an adaptation method builds a backbone. The backbone calls `convBn`
 * for every conv→BN pair (stem, main path, shortcuts) and applies the
 * activation itself; `residual`, when given, rewrites each block's main-path
 * output before the shortcut is added and the block's ReLU applied.
 */
export interface Adaptor {
  /** Method name (for reports). */
  readonly name: string;
  /** Returns the pre-activation output of the pair for input `x`, e.g. `bn(conv(x))`. */
  readonly convBn: (x: Tensor, pair: ConvBnSpec, ctx: PairContext) => Tensor;
  /** Rewrites a block's main-path output `branch` given the block input (default: unchanged). */
  readonly residual?: (blockInput: Tensor, branch: Tensor, block: BlockSpec) => Tensor;
}
