/**
 * FLOP accounting: 2 per multiply-add of the nodes whose op record counts
 * FLOPs (conv, its gradients and matmul), forward and backward alike (a
 * conv's input and weight gradients cost what the conv costs). Element-wise
 * ops, reductions and pooling are not counted.
 * @module
 */
import type { Graph } from "./graph.ts";
import { opDef } from "./ops/mod.ts";
import type { Tensor } from "./tensor.ts";

/** FLOPs of one node: its record's `flops`, or 0 for ops that are not counted. */
export function nodeFlops(n: Tensor): number {
  return opDef(n).flops?.(n) ?? 0;
}

/** FLOPs of every node of `g`, summed: one training step for a `grad()` graph. */
export function graphFlops(g: Graph): number {
  return g.nodes.reduce((s, n) => s + nodeFlops(n), 0);
}
