/**
 * The logistic sigmoid; its backward keeps its fp32 output.
 * @module
 */
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
