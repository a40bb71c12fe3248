/**
 * Planner benchmarks: planning time of ResNet-50 training graphs (224², batch
 * 8), and the plan quality figures (arena / lower bound) on random graphs and
 * a 20-layer CNN, printed once when the file loads.
 */
import fc from "fast-check";
import { arenaRatio, planGraph } from "../lib/plan/mod.ts";
import { cnn20, METHODS, resnet50 } from "../bench/models/resnet.ts";
import { inferenceGraph, recipe, trainingGraph } from "./plan_dags.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rs = fc.sample(recipe(), { numRuns: 1000, seed: 42 });
const inference = rs.map((r) => arenaRatio(planGraph(inferenceGraph(r))));
const training = rs.map((r) => arenaRatio(planGraph(trainingGraph(r))));
console.log(
  `random graphs (1000): median arena/bound inference ${median(inference).toFixed(4)}, ` +
    `training ${median(training).toFixed(4)}`,
);
for (const method of METHODS) {
  const plan = planGraph(cnn20({ method, batch: 8, size: 32, classes: 10 }), { optimizer: "adam" });
  console.log(
    `ResNet-20 ${method} batch 8: arena ${plan.arenaBytes} B, bound ${plan.lowerBoundBytes} B, ` +
      `ratio ${arenaRatio(plan).toFixed(4)}, ${plan.schedule.length} steps`,
  );
}
for (const method of ["frozen", "finetune"] as const) {
  const g = resnet50({ method, batch: 8, size: 224, classes: 10 });
  const t0 = performance.now();
  const plan = planGraph(g, { optimizer: "adam" });
  const ms = performance.now() - t0;
  console.log(
    `ResNet-50 ${method} batch 8 224²: ${g.graph.nodes.length} nodes, ` +
      `${plan.schedule.length} steps, planned in ${ms.toFixed(0)} ms, ` +
      `arena ${(plan.arenaBytes / 1e6).toFixed(2)} MB, ratio ${arenaRatio(plan).toFixed(4)}`,
  );
}

const frozen = resnet50({ method: "frozen", batch: 8, size: 224, classes: 10 });
const finetune = resnet50({ method: "finetune", batch: 8, size: 224, classes: 10 });

Deno.bench("plan ResNet-50 training graph, frozen backbone + trainable head", () => {
  planGraph(frozen, { optimizer: "adam" });
});

Deno.bench("plan ResNet-50 training graph, fine-tuning (full backward)", () => {
  planGraph(finetune, { optimizer: "adam" });
});

Deno.bench("build + plan ResNet-50 fine-tuning graph", () => {
  planGraph(resnet50({ method: "finetune", batch: 8, size: 224, classes: 10 }));
});
