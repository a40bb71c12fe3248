/**
 * FLOP accounting: 2 per multiply-add of the conv and matmul nodes of a
 * graph, forward and backward alike (a conv's input and weight gradients
 * cost what the conv costs). Element-wise ops, reductions and pooling are
 * not counted.
 * @module
 */
import type { Graph } from "./graph.ts";
import type { Tensor } from "./tensor.ts";

/** FLOPs of one node: its conv, conv-gradient or matmul multiply-adds × 2, else 0. */
export function nodeFlops(n: Tensor): number {
  if (n.op === "conv2d") return convFlopsOf(n.shape, n.inputs[1].shape);
  if (n.op === "conv2dGradInput") return convFlopsOf(n.inputs[0].shape, n.inputs[1].shape);
  if (n.op === "conv2dGradWeight") return convFlopsOf(n.inputs[1].shape, n.shape);
  if (n.op === "matmul") {
    const [m, k] = n.attrs.transA
      ? [n.inputs[0].shape[1], n.inputs[0].shape[0]]
      : n.inputs[0].shape;
    return 2 * m * k * n.shape[1];
  }
  return 0;
}

/** FLOPs of a conv with output shape `y` (`[N, C_out, Ho, Wo]`) and weight shape `w`. */
function convFlopsOf(y: readonly number[], w: readonly number[]): number {
  const [b, cout, ho, wo] = y;
  const [, cinG, kh, kw] = w;
  return 2 * b * cout * cinG * kh * kw * ho * wo;
}

/** FLOPs of every node of `g`, summed: one training step for a `grad()` graph. */
export function graphFlops(g: Graph): number {
  return g.nodes.reduce((s, n) => s + nodeFlops(n), 0);
}
