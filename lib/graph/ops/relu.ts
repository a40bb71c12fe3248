/**
 * ReLU. Its backward keeps a 1-bit mask of where the output is positive,
 * packed 32 per `u32`, never the fp32 input or output.
 * @module
 */
import type { BackwardRule } from "../rule.ts";
import { node, type Tensor } from "../tensor.ts";

/** `max(x, 0)`. */
export function relu(x: Tensor): Tensor {
  return node("relu", [x], x.shape);
}

/** The packed mask `y > 0` of a value (dtype `mask`). */
export function reluMask(y: Tensor): Tensor {
  return node("reluMask", [y], y.shape, {}, "mask");
}

/** `dy` where the mask is set, 0 elsewhere. */
export function reluGrad(dy: Tensor, mask: Tensor): Tensor {
  return node("reluGrad", [dy, mask], dy.shape);
}

/** relu: backward reads only the mask of its output. */
export const reluBackward: BackwardRule = (n, dy) => [reluGrad(dy, reluMask(n))];
