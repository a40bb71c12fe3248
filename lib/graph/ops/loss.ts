/**
 * Softmax cross-entropy averaged over the batch.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, ShapeError, showShape, type Tensor } from "../tensor.ts";

/** Mean over the batch of `−log softmax(logits)[label]`; labels are `i32` `[N]`. */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  checkRank("softmaxCrossEntropy", "logits", logits, 2);
  if (labels.dtype !== "i32" || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError(
      "softmaxCrossEntropy",
      `labels must be i32 [${logits.shape[0]}] for logits ${
        showShape(logits.shape)
      }, got ${labels.dtype} ${showShape(labels.shape)}`,
    );
  }
  return node("softmaxCrossEntropy", [logits, labels], []);
}

/** softmaxCrossEntropy: backward reads the logits and labels. */
export const softmaxCrossEntropyBackward: BackwardRule = (n, dy, needs) => [
  needs[0] ? softmaxCrossEntropyGrad(n.inputs[0], n.inputs[1], dy) : undefined,
  undefined,
];

/** The logits' gradient `dl · (softmax(logits) − onehot(labels)) / N`. */
export function softmaxCrossEntropyGrad(logits: Tensor, labels: Tensor, dl: Tensor): Tensor {
  return node("softmaxCrossEntropyGrad", [logits, labels, dl], logits.shape);
}

/** The records of the loss and its gradient (both reduce over the batch). */
export const LOSS_OPS = {
  softmaxCrossEntropy: {
    build: softmaxCrossEntropy,
    backward: softmaxCrossEntropyBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
  softmaxCrossEntropyGrad: {
    build: softmaxCrossEntropyGrad,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
