/**
 * Building one conv→BN pair from its description, with a choice of what is
 * trainable: the conv weight, the BN affine parameters, and BN statistics.
 * @module
 */
import { batchNorm, conv2d, type Pads, param, type Tensor, zeroPad2d } from "../graph/mod.ts";
import type { ConvBnSpec } from "./adaptor.ts";

/**
 * How a batch norm trains: `frozen` (running statistics, nothing trainable),
 * `affine` (running statistics, γ and β trainable), `bias` (running
 * statistics, only β trainable), `batch` (batch statistics, γ and β trainable).
 */
export type BnTraining = "frozen" | "affine" | "bias" | "batch";

/** Options of {@linkcode convBnLayer}. */
export interface ConvBnOptions {
  /** Whether the conv weight is trainable (default false). */
  readonly trainableConv?: boolean;
  /** How the batch norm trains (default `frozen`). */
  readonly bn?: BnTraining;
  /** Rewrites the conv weight before use (e.g. a Piggyback mask). */
  readonly weight?: (w: Tensor) => Tensor;
  /** Adds a value to the conv output before the batch norm. */
  readonly beforeBn?: (convOut: Tensor) => Tensor;
}

/** The conv weight parameter of a pair, `[out, in/groups, k, k]`, He-initialised. */
export function convWeight(pair: ConvBnSpec, trainable: boolean): Tensor {
  const { outChannels: o, inChannels: i, kernel: k } = pair;
  const g = pair.groups ?? 1;
  return param(`${pair.conv}.weight`, [o, i / g, k, k], { trainable, init: "he" });
}

/**
 * A convolution with asymmetric zero padding `[top, bottom, left, right]`
 * that never pads (or copies) the activation: it pads symmetrically by the
 * larger side and puts the difference as zero taps on the kernel's opposite
 * edge. With pads `[0, 1, 0, 1]` a 3×3 kernel becomes 4×4 with a zero first
 * row and column under padding 1: output `i` reads rows `s·i … s·i+2`,
 * exactly TF 'same' at stride 2. The extra taps cost multiply-adds (16/9 on
 * those convs), not memory.
 */
export function conv2dPadded(
  x: Tensor,
  w: Tensor,
  pads: Pads,
  options: { stride: number; groups: number },
): Tensor {
  const [t, b, l, r] = pads;
  const kernelPads: Pads = [
    Math.max(0, b - t),
    Math.max(0, t - b),
    Math.max(0, r - l),
    Math.max(0, l - r),
  ];
  const padded = kernelPads.some((p) => p > 0) ? zeroPad2d(w, kernelPads) : w;
  return conv2d(x, padded, { ...options, padding: [Math.max(t, b), Math.max(l, r)] });
}

/** The convolution of a pair with weight `w` (with its exact `pads` where it has them). */
export function pairConv(x: Tensor, pair: ConvBnSpec, w: Tensor): Tensor {
  const groups = pair.groups ?? 1;
  if (pair.pads) return conv2dPadded(x, w, pair.pads, { stride: pair.stride, groups });
  return conv2d(x, w, { stride: pair.stride, padding: pair.padding, groups });
}

/** Batch norm parameters named like torchvision: `weight`, `bias`, `running_mean`, `running_var`. */
export function bnLayer(
  x: Tensor,
  prefix: string,
  c: number,
  training: BnTraining,
  eps?: number,
): Tensor {
  const gammaTrainable = training === "affine" || training === "batch";
  const betaTrainable = training !== "frozen";
  const p = {
    gamma: param(`${prefix}.weight`, [c], { trainable: gammaTrainable, init: "ones" }),
    beta: param(`${prefix}.bias`, [c], { trainable: betaTrainable, init: "zeros" }),
    mean: param(`${prefix}.running_mean`, [c], { trainable: false, init: "zeros" }),
    variance: param(`${prefix}.running_var`, [c], { trainable: false, init: "ones" }),
  };
  return batchNorm(x, p, { mode: training === "batch" ? "batch" : "eval", eps });
}

/** `bn(conv(x))` for a pair, with the given trainability. */
export function convBnLayer(x: Tensor, pair: ConvBnSpec, options: ConvBnOptions = {}): Tensor {
  const w = convWeight(pair, options.trainableConv ?? false);
  const y = pairConv(x, pair, options.weight ? options.weight(w) : w);
  const pre = options.beforeBn ? options.beforeBn(y) : y;
  return bnLayer(pre, pair.bn, pair.outChannels, options.bn ?? "frozen", pair.bnEps);
}
