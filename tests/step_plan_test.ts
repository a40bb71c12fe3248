/** planTrainingStep plans the step the memory CLI reports: the same bytes for the same model. */
import assert from "node:assert/strict";
import { da3 } from "../lib/adapt/mod.ts";
import { resnet20 } from "../lib/models/mod.ts";
import { planTrainingStep } from "../lib/train/step_plan.ts";
import { memoryRow } from "../scripts/memory.ts";

Deno.test("planTrainingStep's plan is the memory CLI's row, and its options change the bytes", () => {
  const model = () => resnet20({ adaptor: da3().adaptor, classes: 10, batch: 4, size: 32 });
  const { plan } = planTrainingStep(model(), { frozenWeights: "u8" });
  const { row } = memoryRow(
    { model: "resnet20", batch: 4, size: 32, classes: 10, optimizer: "adam", frozenWeights: "u8" },
    "da3",
  );
  assert.equal(plan.totalBytes, row.totalBytes);
  const f32 = planTrainingStep(model(), { frozenWeights: "f32" }).plan;
  assert.ok(f32.weightBytes > plan.weightBytes, `${f32.weightBytes} vs ${plan.weightBytes}`);
  const none = planTrainingStep(model(), { optimizer: "none" }).plan;
  assert.ok(none.totalBytes < plan.totalBytes);
});
