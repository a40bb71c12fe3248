/**
 * Softmax cross-entropy averaged over the batch.
 * @module
 */
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
  needs[0]
    ? node("softmaxCrossEntropyGrad", [n.inputs[0], n.inputs[1], dy], n.inputs[0].shape)
    : undefined,
  undefined,
];
