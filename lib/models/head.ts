/**
 * The classification head every method trains anew: global average pooling
 * and a linear layer named `fc.weight` / `fc.bias` like torchvision.
 * @module
 */
import { flatten, globalAvgPool, linear, param, type Tensor } from "../graph/mod.ts";

/** `fc(flatten(gap(features)))`: logits `[N, classes]`; `fc.*` is always trainable. */
export function classifierHead(features: Tensor, classes: number): Tensor {
  const c = features.shape[1];
  const w = param("fc.weight", [classes, c], { trainable: true, init: { normal: 0.01 } });
  const b = param("fc.bias", [classes], { trainable: true, init: "zeros" });
  return linear(flatten(globalAvgPool(features)), w, b);
}
