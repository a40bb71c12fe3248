/**
 * One CPU training step (forward, backward, SGD) of ResNet-20, batch 4,
 * 32×32, under each adaptation method.
 *
 * deno bench -A tests/adapt_bench.ts
 */
import { grad } from "../lib/autodiff/mod.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import { initOptimizer } from "../lib/train/optimizer.ts";
import { trainStep } from "../lib/train/step.ts";

const x = new Float32Array(4 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
const labels = new Int32Array([0, 1, 2, 3]);

for (const name of Object.keys(METHODS) as MethodName[]) {
  const g = grad(
    classificationLoss(resnet20({ adaptor: METHODS[name]().adaptor, classes: 10, batch: 4 })),
  );
  const params = initParams(g.graph, 0);
  const state = initOptimizer({ kind: "sgd", momentum: 0.9 });
  Deno.bench(`${name} ResNet-20 b4 32² CPU train step`, {
    group: "train-step",
    baseline: name === "finetune",
    n: 5,
    warmup: 1,
  }, () => {
    trainStep(g, params, { x, labels }, state, 0.01);
  });
}
