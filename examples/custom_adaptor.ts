/**
 * Writing an adaptor of your own: a multiplicative channel gate (squeeze-
 * and-excitation style) on every frozen conv→BN pair of ResNet-50, compared
 * with DA³'s additive attention. The gate looks as small as DA³'s, but
 * `mul` must keep the full BN output for the gate's gradient; da3 finds that
 * out from the graph and reports the exact bytes. The gate itself is written
 * in `train_custom_adaptor.ts`, which also trains it.
 *
 * deno run -A examples/custom_adaptor.ts
 * @module
 */
import { da3 } from "../lib/adapt/mod.ts";
import { type ModelOptions, resnet50 } from "../lib/models/mod.ts";
import { megabytes, memorySummary } from "../lib/plan/mod.ts";
import { planTrainingStep } from "../lib/train/step_plan.ts";
import { channelGate } from "./train_custom_adaptor.ts";

const setting = { classes: 100, batch: 8, size: 224 };
for (const adaptor of [channelGate, da3().adaptor]) {
  const options: ModelOptions = { adaptor, ...setting };
  // Planned as `deno task memory` plans it: u8 frozen weights, batch norms folded, Adam in the plan.
  const { grad: g, plan } = planTrainingStep(resnet50(options));
  const s = memorySummary(plan, { model: "resnet50", method: adaptor.name, ...setting });
  console.log(
    `${adaptor.name.padEnd(12)} saved activations ${g.savedBytes} B (${
      megabytes(g.savedBytes)
    } MB), ` +
      `training memory ${
        megabytes(s.totalBytes)
      } MB (Adam, ResNet-50, batch 8, 224², frozen weights u8)`,
  );
}
