/**
 * ReLU. Its backward keeps a 1-bit mask of where the output is positive,
 * packed 32 per `u32`, never the fp32 input or output.
 * @module
 */
import { FIRST_IN_PLACE, NOT_IN_PLACE, type OpTable } from "../op.ts";
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

/** The records of ReLU, its mask and its gradient. */
export const RELU_OPS = {
  relu: {
    build: relu,
    backward: reluBackward,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
  reluMask: {
    build: reluMask,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  reluGrad: {
    build: reluGrad,
    backward: null,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
