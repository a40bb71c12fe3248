/**
 * FLOP accounting for (gated) inference: 2 per multiply-add of conv and
 * matmul nodes. Element-wise ops (BN, add, ReLU, pooling) are not counted.
 * @module
 */
import { type Graph, nodeFlops, type Tensor } from "../graph/mod.ts";

/** True for a conv whose weight is a frozen parameter: backbone work. */
export function isBackboneConv(n: Tensor): boolean {
  return n.op === "conv2d" && n.inputs[1].op === "param" && n.inputs[1].attrs.trainable === false;
}

/** Ungated FLOPs of an inference graph: in total and in the frozen backbone convs. */
export function backboneFlops(g: Graph): { total: number; backbone: number } {
  let total = 0, backbone = 0;
  for (const n of g.nodes) {
    const f = nodeFlops(n);
    total += f;
    if (isBackboneConv(n)) backbone += f;
  }
  return { total, backbone };
}

/** FLOPs of a one-sample conv restricted to `outs` output and `ins` input channels. */
export function convFlops(n: Tensor, outs: number, ins: number): number {
  const [, , ho, wo] = n.shape;
  const [, , kh, kw] = n.inputs[1].shape;
  return 2 * outs * ins * kh * kw * ho * wo;
}
