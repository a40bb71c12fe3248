/**
 * What a model builder returns, what it is given, and the classification
 * loss over it.
 * @module
 */
import {
  type Graph,
  graph,
  input,
  numel,
  params,
  softmaxCrossEntropy,
  type Tensor,
} from "../graph/mod.ts";
import type { Adaptor, BlockSpec, ConvBnSpec } from "./adaptor.ts";

/** Options every model builder takes. */
export interface ModelOptions {
  /** The adaptation method, applied to every pair and block. */
  readonly adaptor: Adaptor;
  /** Classes of the new head. */
  readonly classes: number;
  /** Batch size of the input. */
  readonly batch: number;
  /** Input side in pixels (default: the model's native size). */
  readonly size?: number;
}

/** A built classifier: its image input, its logits and its structure. */
export interface Model {
  /** e.g. `resnet50`. */
  readonly name: string;
  /** The image batch, input `x` `[N,3,S,S]`. */
  readonly input: Tensor;
  /** `[N, classes]`. */
  readonly logits: Tensor;
  /** The stem pair. */
  readonly stem: ConvBnSpec;
  /** Every residual block, in order. */
  readonly blocks: readonly BlockSpec[];
}

/** The image input of a model: `x` `[batch, 3, size, size]`. */
export function imageInput(batch: number, size: number): Tensor {
  return input("x", [batch, 3, size, size]);
}

/** The mean softmax cross-entropy of the logits against an i32 input `labels` `[N]`. */
export function classificationLoss(model: Model): Tensor {
  const labels = input("labels", [model.logits.shape[0]], "i32");
  return softmaxCrossEntropy(model.logits, labels);
}

/** True for BN running statistics, which are buffers, not parameters, in PyTorch's count. */
export function isRunningStat(name: string): boolean {
  return name.endsWith(".running_mean") || name.endsWith(".running_var");
}

/** The number of learnable values of a graph as PyTorch counts them (running statistics excluded). */
export function parameterCount(g: Graph | Tensor): number {
  const gr = "nodes" in g ? g : graph(g);
  return params(gr)
    .filter((p) => !isRunningStat(String(p.attrs.name)))
    .reduce((s, p) => s + numel(p.shape), 0);
}
