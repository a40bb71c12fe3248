/**
 * The logistic sigmoid; its backward keeps its fp32 output.
 * @module
 */
import { FIRST_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, type Tensor } from "../tensor.ts";

/** `1 / (1 + e^−x)`. */
export function sigmoid(x: Tensor): Tensor {
  return node("sigmoid", [x], x.shape);
}

/** `dy · y · (1 − y)` from the sigmoid's output `y`. */
export function sigmoidGrad(dy: Tensor, y: Tensor): Tensor {
  return node("sigmoidGrad", [dy, y], dy.shape);
}

/** sigmoid: backward reads its output. */
export const sigmoidBackward: BackwardRule = (n, dy) => [sigmoidGrad(dy, n)];

/** The records of the sigmoid and its gradient. */
export const SIGMOID_OPS = {
  sigmoid: {
    build: sigmoid,
    backward: sigmoidBackward,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
  sigmoidGrad: {
    build: sigmoidGrad,
    backward: null,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
