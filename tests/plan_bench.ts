/**
 * Planner benchmarks: planning time of ResNet-50 training graphs (224², batch
 * 8), and the plan quality figures (arena / lower bound) on random graphs and
 * a 20-layer CNN, printed once when the file loads.
 */
import fc from "fast-check";
import { arenaRatio, CPU_TARGET, planGraph } from "../lib/plan/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import {
  classificationLoss,
  type Model,
  type ModelOptions,
  resnet20,
  resnet50,
} from "../lib/models/mod.ts";
import { inferenceGraph, recipe, trainingGraph } from "./plan_dags.ts";

/** One training graph of `model` under `method`, 10 classes, batch 8. */
const training = (model: (o: ModelOptions) => Model, method: MethodName) =>
  grad(classificationLoss(model({ adaptor: METHODS[method]().adaptor, batch: 8, classes: 10 })));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rs = fc.sample(recipe(), { numRuns: 1000, seed: 42 });
const inference = rs.map((r) => arenaRatio(planGraph(inferenceGraph(r))));
const trainingRatios = rs.map((r) => arenaRatio(planGraph(trainingGraph(r))));
console.log(
  `random graphs (1000): median arena/bound inference ${median(inference).toFixed(4)}, ` +
    `training ${median(trainingRatios).toFixed(4)}`,
);
for (const method of Object.keys(METHODS) as MethodName[]) {
  const plan = planGraph(training(resnet20, method), CPU_TARGET, { optimizer: "adam" });
  console.log(
    `ResNet-20 ${method} batch 8: arena ${plan.arenaBytes} B, bound ${plan.lowerBoundBytes} B, ` +
      `ratio ${arenaRatio(plan).toFixed(4)}, ${plan.schedule.length} steps`,
  );
}
for (const method of ["lastlayer", "finetune"] as const) {
  const g = training(resnet50, method);
  const t0 = performance.now();
  const plan = planGraph(g, CPU_TARGET, { optimizer: "adam" });
  const ms = performance.now() - t0;
  console.log(
    `ResNet-50 ${method} batch 8 224²: ${g.graph.nodes.length} nodes, ` +
      `${plan.schedule.length} steps, planned in ${ms.toFixed(0)} ms, ` +
      `arena ${(plan.arenaBytes / 1e6).toFixed(2)} MB, ratio ${arenaRatio(plan).toFixed(4)}`,
  );
}

const frozen = training(resnet50, "lastlayer");
const finetune = training(resnet50, "finetune");

Deno.bench("plan ResNet-50 training graph, frozen backbone + trainable head", () => {
  planGraph(frozen, CPU_TARGET, { optimizer: "adam" });
});

Deno.bench("plan ResNet-50 training graph, fine-tuning (full backward)", () => {
  planGraph(finetune, CPU_TARGET, { optimizer: "adam" });
});

Deno.bench("build + plan ResNet-50 fine-tuning graph", () => {
  planGraph(training(resnet50, "finetune"));
});
