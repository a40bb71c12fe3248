/**
 * Training with frozen weights at reduced precision (`--frozen-weights`):
 * the step's planned bytes drop by exactly the frozen conv weights' saving,
 * the checkpoint reproduces its accuracy on the same u8 graphs, the storage
 * is part of the run a resume must match, and the flag is validated.
 */
import assert from "node:assert/strict";
import { cpuRuntime } from "../mod.ts";
import { isTrainable, numel, params } from "../lib/graph/mod.ts";
import { CheckpointError, loadCheckpoint } from "../lib/io/checkpoint.ts";
import { evaluate, methodGraphs, trainDomain } from "../lib/train/domain.ts";
import { trainConfigFromArgs } from "../lib/train/args.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { channelStats } from "../lib/data/mod.ts";
import { quantizingRuntime } from "../lib/runtime/quantize_feeds.ts";
import { backbone, backboneHash, job, synthetic } from "./train_fixture.ts";

Deno.test("--frozen-weights u8: the step's bytes drop by the frozen convs' saving; the checkpoint reproduces its accuracy", async () => {
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const f32 = await trainDomain(job(a));
  const u8 = await trainDomain(job(b, { frozenWeights: "u8" }));
  const frozen = params(methodGraphs("da3", 3, 4).train.graph).filter((p) =>
    !isTrainable(p) && p.shape.length === 4
  );
  const n = frozen.reduce((s, p) => s + numel(p.shape), 0);
  const channels = frozen.reduce((s, p) => s + p.shape[0], 0);
  assert.equal(f32.trainingBytes - u8.trainingBytes, 3 * n - 8 * channels);
  assert.ok(Number.isFinite(u8.top1) && u8.top1 >= 0 && u8.top1 <= 1);
  const c = await loadCheckpoint(u8.checkpoint, backboneHash);
  const g = methodGraphs("da3", 3, 4, { frozenWeights: "u8" });
  const top1 = await evaluate(
    quantizingRuntime(cpuRuntime),
    g.eval,
    new Map([...backbone, ...c.params]),
    synthetic(6, 2),
    channelStats(synthetic(8, 1)),
    4,
  );
  assert.equal(top1, u8.top1);
  await assert.rejects(
    () => trainDomain(job(b, { epochs: 2, resume: true })),
    (e: unknown) => e instanceof CheckpointError && /frozenWeights/.test(e.message),
  );
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("--frozen-weights: defaults to the backbone's (f32 on ResNet-20, u8 on MobileNetV2), takes f16|u8, names the allowed values otherwise", async () => {
  const config = async (...args: string[]) => {
    const c = await trainConfigFromArgs(args);
    assert.notEqual(c, "help");
    return c as Exclude<typeof c, "help">;
  };
  assert.equal((await config("--backbone", "resnet20-mnist")).frozenWeights, "f32");
  assert.equal((await config("--backbone", "mobilenetv2")).frozenWeights, "u8");
  assert.equal((await config("--frozen-weights", "u8")).frozenWeights, "u8");
  assert.equal((await config("--frozen-weights", "f16")).frozenWeights, "f16");
  await assert.rejects(
    () => trainConfigFromArgs(["--frozen-weights", "int4"]),
    (e: unknown) =>
      e instanceof UsageError && e.flag === "--frozen-weights" && /f32.*f16.*u8/.test(e.message),
  );
});
