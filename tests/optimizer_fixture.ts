/**
 * A small CNN's training graph and seeded batches, shared by the optimizer tests.
 * @module
 */
import {
  batchNorm,
  conv2d,
  globalAvgPool,
  input,
  linear,
  param,
  relu,
  softmaxCrossEntropy,
  type Tensor,
} from "../lib/graph/mod.ts";
import { grad, type GradResult } from "../lib/autodiff/mod.ts";
import { rng } from "../lib/runtime/params.ts";

function bn(x: Tensor, name: string, c: number) {
  return batchNorm(x, {
    gamma: param(`${name}.gamma`, [c], { init: "ones" }),
    beta: param(`${name}.beta`, [c], { init: "zeros" }),
    mean: param(`${name}.mean`, [c], { init: "zeros", trainable: false }),
    variance: param(`${name}.var`, [c], { init: "ones", trainable: false }),
  }, { mode: "batch" });
}

/** A small CNN: a frozen conv, a trainable conv with batch norm, a linear head. */
export function smallCnn(n: number, classes: number): GradResult {
  const x = input("x", [n, 3, 8, 8]);
  const labels = input("labels", [n], "i32");
  const c1 = relu(conv2d(x, param("c1.w", [6, 3, 3, 3], { trainable: false }), { padding: 1 }));
  const c2 = relu(bn(conv2d(c1, param("c2.w", [8, 6, 3, 3]), { stride: 2, padding: 1 }), "bn2", 8));
  const logits = linear(globalAvgPool(c2), param("fc.w", [classes, 8]), param("fc.b", [classes]));
  return grad(softmaxCrossEntropy(logits, labels), { keep: [logits] });
}

/** `count` seeded batches of a small CNN's inputs. */
export function batchesOf(n: number, classes: number, count: number, seed: number) {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({
    x: Float32Array.from({ length: n * 3 * 64 }, () => 2 * r() - 1),
    labels: Int32Array.from({ length: n }, () => Math.floor(r() * classes)),
  }));
}
