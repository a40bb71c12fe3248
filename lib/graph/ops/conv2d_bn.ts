/**
 * A convolution with an eval-mode batch norm and additions in its epilogue:
 * `conv2dBn(x, w, bn, addends) = bn(conv2d(x, w)) + a₁ + … + a_k`, summed
 * left to right, each addend of the output's shape or `[N, C, 1, 1]` (one
 * value per sample and channel). The same float operations as the separate
 * conv, batch norm and adds, element for element, without their
 * intermediate values: the output may be computed in the bytes of a
 * full-size addend (a residual), so a block's last conv writes its sum into
 * the shortcut's buffer. Built by `fuseConvBn` in a differentiated graph
 * (it has no backward rule of its own), not by models.
 * @module
 */
import type { OpTable } from "../op.ts";
import { node, ShapeError, showShape, type Tensor } from "../tensor.ts";
import type { BatchNormParams } from "./batch_norm.ts";
import { conv2d, type ConvAttrs, convFlops, convGeometryOf } from "./conv2d.ts";

/** Number of inputs before the addends: x, w, γ, β, μ, σ². */
export const CONV_BN_FIXED_INPUTS = 6;

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** True when `a` may be an addend of an output of shape `y`: `y` itself or `[N, C, 1, 1]`. */
export function isEpilogueAddend(a: readonly number[], y: readonly number[]): boolean {
  return sameShape(a, y) || (a.length === 4 && a[0] === y[0] && a[1] === y[1] &&
    a[2] === 1 && a[3] === 1);
}

/**
 * `bn(conv2d(x, w, attrs)) + Σ addends` with eval-mode statistics and `eps`.
 * Throws ShapeError naming the addend whose shape is neither the output's
 * nor `[N, C, 1, 1]`.
 */
export function conv2dBn(
  x: Tensor,
  w: Tensor,
  attrs: ConvAttrs,
  bn: BatchNormParams,
  eps: number,
  addends: readonly Tensor[] = [],
): Tensor {
  const y = conv2d(x, w, attrs).shape;
  addends.forEach((a, k) => {
    if (a.dtype !== "f32" || !isEpilogueAddend(a.shape, y)) {
      throw new ShapeError(
        "conv2dBn",
        `addend ${k} ${a.dtype}${showShape(a.shape)} must be f32 ${showShape(y)} or [${y[0]},${
          y[1]
        },1,1]`,
      );
    }
  });
  return node(
    "conv2dBn",
    [x, w, bn.gamma, bn.beta, bn.mean, bn.variance, ...addends],
    y,
    { ...attrs, eps },
  );
}

/** The addends of a `conv2dBn` node, in summation order. */
export function epilogueAddends(n: Tensor): readonly Tensor[] {
  return n.inputs.slice(CONV_BN_FIXED_INPUTS);
}

/** The record of the fused convolution. */
export const CONV2D_BN_OPS = {
  conv2dBn: {
    build: conv2dBn,
    // Built after differentiation (fuseConvBn rewrites a training graph).
    backward: null,
    flops: (n) => convFlops(convGeometryOf(n)),
    // The output may take the bytes of a full-size addend.
    inPlace: (n) =>
      n.inputs.flatMap((a, k) =>
        k >= CONV_BN_FIXED_INPUTS && sameShape(a.shape, n.shape) ? [k] : []
      ),
    perSample: true,
  },
} satisfies OpTable;
