/**
 * ResNet training graphs for planning and benchmarks, built with the graph
 * DSL: a CIFAR-style 20-layer CNN (ResNet-20) and a bottleneck ResNet-50,
 * each under one of a few adaptation methods.
 * @module
 */
import {
  add,
  batchNorm,
  conv2d,
  flatten,
  globalAvgPool,
  input,
  linear,
  maxPool2d,
  param,
  relu,
  softmaxCrossEntropy,
  type Tensor,
} from "../../lib/graph/mod.ts";
import { grad, type GradResult } from "../../lib/autodiff/mod.ts";

/** How a backbone is adapted: everything trainable, only the head, or BN affine + head. */
export type Method = "finetune" | "frozen" | "bn";

/** The methods every builder here supports. */
export const METHODS: readonly Method[] = ["finetune", "frozen", "bn"];

/** What a model builder needs. */
export interface ModelOptions {
  /** Adaptation method. */
  readonly method: Method;
  /** Batch size. */
  readonly batch: number;
  /** Input side in pixels. */
  readonly size: number;
  /** Classes of the new head. */
  readonly classes: number;
}

interface Builder {
  readonly method: Method;
  count: number;
}

function convBn(b: Builder, x: Tensor, cout: number, k: number, stride: number): Tensor {
  const i = b.count++;
  const trainConv = b.method === "finetune";
  const trainBn = b.method !== "frozen";
  const w = param(`conv${i}.w`, [cout, x.shape[1], k, k], { trainable: trainConv });
  const y = conv2d(x, w, { stride, padding: (k - 1) >> 1 });
  return batchNorm(y, {
    gamma: param(`bn${i}.gamma`, [cout], { trainable: trainBn, init: "ones" }),
    beta: param(`bn${i}.beta`, [cout], { trainable: trainBn, init: "zeros" }),
    mean: param(`bn${i}.mean`, [cout], { trainable: false, init: "zeros" }),
    variance: param(`bn${i}.var`, [cout], { trainable: false, init: "ones" }),
  }, { mode: b.method === "finetune" ? "batch" : "eval" });
}

function head(x: Tensor, o: ModelOptions): GradResult {
  const features = flatten(globalAvgPool(x));
  const c = features.shape[1];
  const logits = linear(features, param("head.w", [o.classes, c]), param("head.b", [o.classes]));
  const labels = input("labels", [o.batch], "i32");
  return grad(softmaxCrossEntropy(logits, labels));
}

/** ResNet-20 for 32×32 images: a 3×3 stem, 3 stages of 3 basic blocks (16/32/64 channels), a head. */
export function cnn20(o: ModelOptions): GradResult {
  const b: Builder = { method: o.method, count: 0 };
  let h = relu(convBn(b, input("x", [o.batch, 3, o.size, o.size]), 16, 3, 1));
  [16, 32, 64].forEach((c, stage) => {
    for (let k = 0; k < 3; k++) {
      const stride = stage > 0 && k === 0 ? 2 : 1;
      const y = convBn(b, relu(convBn(b, h, c, 3, stride)), c, 3, 1);
      const shortcut = stride === 1 && h.shape[1] === c ? h : convBn(b, h, c, 1, stride);
      h = relu(add(y, shortcut));
    }
  });
  return head(h, o);
}

/** ResNet-50: a 7×7 stem with max pooling, bottleneck stages [3, 4, 6, 3], a head. */
export function resnet50(o: ModelOptions): GradResult {
  const b: Builder = { method: o.method, count: 0 };
  const x = input("x", [o.batch, 3, o.size, o.size]);
  let h = maxPool2d(relu(convBn(b, x, 64, 7, 2)), { kernel: 3, stride: 2, padding: 1 });
  [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([c, blocks], stage) => {
    for (let k = 0; k < blocks; k++) {
      const stride = stage > 0 && k === 0 ? 2 : 1;
      let y = relu(convBn(b, h, c, 1, 1));
      y = relu(convBn(b, y, c, 3, stride));
      y = convBn(b, y, 4 * c, 1, 1);
      const shortcut = k === 0 ? convBn(b, h, 4 * c, 1, stride) : h;
      h = relu(add(y, shortcut));
    }
  });
  return head(h, o);
}
