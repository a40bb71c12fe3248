/**
 * Batch normalisation over the channel axis (axis 1) of `[N,C]` or
 * `[N,C,H,W]` values, with eval (running) or batch statistics, and its
 * backward ops.
 * @module
 */
import { FIRST_IN_PLACE, NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, type Shape, ShapeError, showShape, type Tensor } from "../tensor.ts";
import { sumTo } from "./broadcast.ts";
import { reshape } from "./reshape.ts";

/** The four per-channel parameters of a batch norm, each of shape `[C]`. */
export interface BatchNormParams {
  /** Scale γ. */
  readonly gamma: Tensor;
  /** Shift β. */
  readonly beta: Tensor;
  /** Running mean (used in eval mode). */
  readonly mean: Tensor;
  /** Running variance (used in eval mode). */
  readonly variance: Tensor;
}

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** `eval` normalises with running statistics; `batch` with the batch's own (default eval). */
  readonly mode?: "eval" | "batch";
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
}

/** `γ (x − μ) / √(σ² + ε) + β` per channel. */
export function batchNorm(
  x: Tensor,
  p: BatchNormParams,
  options: BatchNormOptions = {},
): Tensor {
  if (x.shape.length !== 2 && x.shape.length !== 4) {
    throw new ShapeError("batchNorm", `x must be [N,C] or [N,C,H,W], got ${showShape(x.shape)}`);
  }
  const c = x.shape[1];
  for (const [k, t] of Object.entries(p)) {
    if (t.shape.length !== 1 || t.shape[0] !== c) {
      throw new ShapeError(
        "batchNorm",
        `${k} must be [${c}] for x ${showShape(x.shape)}, got ${showShape(t.shape)}`,
      );
    }
  }
  const attrs = { mode: options.mode ?? "eval", eps: options.eps ?? 1e-5 };
  return node("batchNorm", [x, p.gamma, p.beta, p.mean, p.variance], x.shape, attrs);
}

function channelShape(x: Shape): Shape {
  return x.map((d, i) => (i === 1 ? d : 1));
}

/** Eval-mode input gradient `dy · γ / √(σ² + ε)`: reads only parameters. */
export function batchNormGradInput(dy: Tensor, gamma: Tensor, variance: Tensor, eps: number) {
  return node("batchNormGradInput", [dy, gamma, variance], dy.shape, { eps });
}

/** Batch-mode input gradient; recomputes the batch statistics from `x`. */
export function batchNormBatchGradInput(dy: Tensor, x: Tensor, gamma: Tensor, eps: number) {
  return node("batchNormBatchGradInput", [dy, x, gamma], dy.shape, { eps });
}

/** `Σ dy · x̂` per channel; eval mode reads running stats, batch mode recomputes them. */
export function batchNormGradGamma(
  dy: Tensor,
  x: Tensor,
  stats: readonly Tensor[],
  mode: string,
  eps: number,
): Tensor {
  return node("batchNormGradGamma", [dy, x, ...stats], [x.shape[1]], { mode, eps });
}

/** batchNorm: a frozen eval-mode BN keeps nothing; a trainable γ keeps its input. */
export const batchNormBackward: BackwardRule = (n, dy, needs) => {
  const [x, gamma, , mean, variance] = n.inputs;
  const { mode, eps } = n.attrs as { mode: string; eps: number };
  const dx = !needs[0]
    ? undefined
    : mode === "eval"
    ? batchNormGradInput(dy, gamma, variance, eps)
    : batchNormBatchGradInput(dy, x, gamma, eps);
  const stats = mode === "eval" ? [mean, variance] : [];
  return [
    dx,
    needs[1] ? batchNormGradGamma(dy, x, stats, mode, eps) : undefined,
    needs[2] ? reshape(sumTo(dy, channelShape(x.shape)), [x.shape[1]]) : undefined,
    undefined,
    undefined,
  ];
};

/** Eval mode normalises with fixed statistics: a per-channel affine map of each element. */
function isEval(n: Tensor): boolean {
  return n.attrs.mode === "eval";
}

/** The records of batch norm and its backward ops. */
export const BATCH_NORM_OPS = {
  batchNorm: {
    build: batchNorm,
    backward: batchNormBackward,
    flops: null,
    inPlace: (n) => (isEval(n) ? FIRST_IN_PLACE : NOT_IN_PLACE),
    perSample: isEval,
  },
  batchNormGradInput: {
    build: batchNormGradInput,
    backward: null,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
  batchNormBatchGradInput: {
    build: batchNormBatchGradInput,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
  batchNormGradGamma: {
    build: batchNormGradGamma,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
