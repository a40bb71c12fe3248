/**
 * Nearest-neighbour upsampling by an integer factor; its backward sums each
 * block and keeps nothing.
 * @module
 */
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, ShapeError, type Tensor } from "../tensor.ts";

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
  node("upsampleNearestGrad", [dy], n.inputs[0].shape, n.attrs),
];
