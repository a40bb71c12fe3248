/**
 * Nearest-neighbour upsampling by an integer factor; its backward sums each
 * block and keeps nothing.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, type Shape, ShapeError, type Tensor } from "../tensor.ts";

/** `[N,C,H,W]` → `[N,C,H·f,W·f]`, each value repeated in an f×f block. */
export function upsampleNearest(x: Tensor, factor: number): Tensor {
  checkRank("upsampleNearest", "x", x, 4);
  if (!Number.isInteger(factor) || factor < 1) {
    throw new ShapeError("upsampleNearest", `factor must be a positive integer, got ${factor}`);
  }
  const [n, c, h, w] = x.shape;
  return node("upsampleNearest", [x], [n, c, h * factor, w * factor], { factor });
}

/** upsampleNearest: the gradient sums each f×f block. */
export const upsampleNearestBackward: BackwardRule = (n, dy) => [
  upsampleNearestGrad(dy, n.inputs[0].shape, n.attrs.factor as number),
];

/** The input gradient of an upsample: `dy` summed over each f×f block, to `xShape`. */
export function upsampleNearestGrad(dy: Tensor, xShape: Shape, factor: number): Tensor {
  return node("upsampleNearestGrad", [dy], xShape, { factor });
}

/** The records of the upsample and its gradient. */
export const UPSAMPLE_OPS = {
  upsampleNearest: {
    build: upsampleNearest,
    backward: upsampleNearestBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  upsampleNearestGrad: {
    build: upsampleNearestGrad,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
