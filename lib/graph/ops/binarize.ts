/**
 * Binarization of a real-valued mask at a threshold, with a straight-through
 * gradient (Piggyback): forward `x > t ? 1 : 0`, backward `dx = dy`. Its
 * backward keeps nothing.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, ShapeError, type Tensor } from "../tensor.ts";

/** `1` where `x > threshold`, `0` elsewhere; the gradient passes straight through. */
export function binarize(x: Tensor, threshold: number): Tensor {
  if (!Number.isFinite(threshold)) {
    throw new ShapeError("binarize", `threshold must be a finite number, got ${threshold}`);
  }
  return node("binarize", [x], x.shape, { threshold });
}

/** binarize: straight-through estimator, `dx = dy`; reads no forward value. */
export const binarizeBackward: BackwardRule = (_, dy) => [dy];

/** The record of binarize. */
export const BINARIZE_OPS = {
  binarize: {
    build: binarize,
    backward: binarizeBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
