/**
 * ReLU6, `min(max(x, 0), 6)` (MobileNetV2's activation). Its backward keeps
 * a 1-bit mask of where the output lies strictly inside (0, 6), packed 32
 * per `u32`, and reuses ReLU's masked gradient.
 * @module
 */
import { FIRST_IN_PLACE, NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, type Tensor } from "../tensor.ts";
import { reluGrad } from "./relu.ts";

/** `min(max(x, 0), 6)`. */
export function relu6(x: Tensor): Tensor {
  return node("relu6", [x], x.shape);
}

/** The packed mask `0 < y < 6` of a ReLU6 output (dtype `mask`). */
export function relu6Mask(y: Tensor): Tensor {
  return node("relu6Mask", [y], y.shape, {}, "mask");
}

/** relu6: backward reads only the mask of its output (TF's `0 < x < 6`). */
export const relu6Backward: BackwardRule = (n, dy) => [reluGrad(dy, relu6Mask(n))];

/** The records of ReLU6 and its mask (the gradient is ReLU's `reluGrad`). */
export const RELU6_OPS = {
  relu6: {
    build: relu6,
    backward: relu6Backward,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
  relu6Mask: {
    build: relu6Mask,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
