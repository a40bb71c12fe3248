/**
 * The custom-adaptor training example runs on the embedded data (a few
 * steps) and prints its accuracy and the exact training memory of its plan.
 */
import assert from "node:assert/strict";
import { cpuRuntime, loadEmbedded, planGraph, resnet20 } from "../mod.ts";
import { setupTraining } from "../lib/train/train.ts";
import { channelGate } from "../examples/train_custom_adaptor.ts";

Deno.test("examples/train_custom_adaptor.ts trains the channel gate and prints accuracy and memory", async () => {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/train_custom_adaptor.ts", "32", "1", "32"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(run.stdout);
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  const m =
    /^channel-gate on sklearn-digits: top-1 (\d+\.\d)% on 32 test images, (\d+) parameters per domain, training memory (\d+) B/m
      .exec(text);
  assert.ok(m, text);
  assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= 100);
  // The printed memory is the plan's total for the gate on ResNet-20 at batch 32 with Adam.
  const split = await loadEmbedded("sklearn-digits");
  const setup = await setupTraining({
    model: (adaptor, { batch, classes }) => resnet20({ adaptor, batch, classes, size: 32 }),
    method: channelGate,
    data: { domain: "sklearn-digits", train: split.train, test: split.test },
    epochs: 1,
    batch: 32,
    lr: 1e-3,
  });
  assert.equal(Number(m[3]), setup.trainingBytes);
  // The step's plan includes Adam's updates: no persistent gradients, the moments persistent.
  const plan = planGraph(setup.step, cpuRuntime.target);
  assert.equal(setup.trainingBytes, plan.totalBytes);
  assert.equal(plan.gradientBytes, 0);
  assert.equal(plan.optimizerBytes, 2 * plan.trainableBytes);
});
