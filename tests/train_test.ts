/**
 * The training loop on the CPU runtime with a tiny synthetic domain:
 * checkpoints reproduce the reported accuracy, resuming is bit-exact, and a
 * diverging run stops with a clear error and keeps its last good checkpoint.
 */
import assert from "node:assert/strict";
import { cpuRuntime, initParams } from "../mod.ts";
import { CheckpointError, loadCheckpoint } from "../lib/io/checkpoint.ts";
import { evaluate, methodGraphs, trainDomain, TrainingError } from "../lib/train/domain.ts";
import { channelStats } from "../lib/data/mod.ts";
import {
  backbone,
  backboneHash,
  hidingNaN,
  injectingNaN,
  job,
  snapshot,
  synthetic,
} from "./train_fixture.ts";

Deno.test("a domain checkpoint on the shared backbone reproduces its reported accuracy", async () => {
  const out = await Deno.makeTempDir();
  const r = await trainDomain(job(out));
  const c = await loadCheckpoint(r.checkpoint, backboneHash);
  assert.equal(c.meta.top1, r.top1);
  assert.ok([...c.params.keys()].every((k) => !backbone.has(k) || k.includes("running")));
  const g = methodGraphs("da3", 3, 4);
  const params = new Map([...backbone, ...c.params]);
  const train = synthetic(8, 1);
  const top1 = await evaluate(cpuRuntime, g.eval, params, synthetic(6, 2), channelStats(train), 4);
  assert.equal(top1, r.top1);
  assert.equal(backbone.size, [...backbone.keys()].length);
  await Deno.remove(out, { recursive: true });
});

Deno.test("resuming after an epoch continues bit-exactly", async () => {
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const straight = await trainDomain(job(a, { epochs: 2 }));
  await trainDomain(job(b, { epochs: 1 }));
  const resumed = await trainDomain(job(b, { epochs: 2, resume: true }));
  assert.deepEqual([...resumed.params.keys()], [...straight.params.keys()]);
  for (const [k, v] of straight.params) {
    const w = resumed.params.get(k)!;
    assert.ok(w.length === v.length && w.every((x, i) => Object.is(x, v[i])), k);
  }
  assert.equal(resumed.top1, straight.top1);
  await Deno.remove(a, { recursive: true });
  await Deno.remove(b, { recursive: true });
});

Deno.test("DA³ options shape the adaptor, are stored, and a resume with other options is refused", async () => {
  const adaptorValues = (reduction: number) =>
    [...initParams(methodGraphs("da3", 3, 2, { da3: { reduction } }).train.graph, 1)]
      .filter(([k]) => k.includes(".da3."))
      .reduce((n, [, v]) => n + v.length, 0);
  assert.ok(adaptorValues(4) > adaptorValues(16), "a smaller reduction has more adaptor weights");
  const out = await Deno.makeTempDir();
  const r = await trainDomain(job(out, { da3: { reduction: 4 } }));
  assert.deepEqual((await loadCheckpoint(r.checkpoint, backboneHash)).meta.options, {
    reduction: 4,
  });
  await assert.rejects(
    () => trainDomain(job(out, { epochs: 2, resume: true })),
    (e: unknown) => e instanceof CheckpointError && /reduction/.test(e.message),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("a NaN weight stops the CPU run with TrainingError; every file is unchanged", async () => {
  const out = await Deno.makeTempDir();
  await trainDomain(job(out, { epochs: 1 }));
  const path = `${out}/da3-fashion.epoch.safetensors`;
  const before = await snapshot(out);
  const runtime = injectingNaN(cpuRuntime, "fc.weight", 2);
  await assert.rejects(
    () => trainDomain(job(out, { epochs: 2, resume: true, runtime })),
    (e: unknown) =>
      e instanceof TrainingError && e.message.includes("loss is NaN at epoch 2 step 2") &&
      e.message.includes(path),
  );
  assert.deepEqual(await snapshot(out), before);
  assert.equal((await loadCheckpoint(path, backboneHash)).meta.epoch, 1);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a NaN gradient behind a finite loss stops the run after the update; files unchanged", async () => {
  const out = await Deno.makeTempDir();
  await trainDomain(job(out, { epochs: 1 }));
  const before = await snapshot(out);
  await assert.rejects(
    () => trainDomain(job(out, { epochs: 2, resume: true, runtime: hidingNaN(cpuRuntime, 1) })),
    (e: unknown) =>
      e instanceof TrainingError &&
      /\[0\] is NaN after the update at epoch 2 step 1/.test(e.message),
  );
  assert.deepEqual(await snapshot(out), before);
  await Deno.remove(out, { recursive: true });
});

Deno.test("--bn-stats domain re-estimates the frozen BN statistics and stores them per domain", async () => {
  const out = await Deno.makeTempDir();
  const r = await trainDomain(job(out, { bnStats: "domain" }));
  const c = await loadCheckpoint(r.checkpoint, backboneHash);
  for (const name of ["bn1.running_mean", "layer3.2.bn2.running_var"]) {
    const stored = c.params.get(name);
    assert.ok(stored, `${name} stored with the domain`);
    assert.ok(stored.some((v, i) => v !== backbone.get(name)![i]), `${name} re-estimated`);
  }
  const sourceOut = await Deno.makeTempDir();
  const source = await trainDomain(job(sourceOut));
  assert.equal(
    (await loadCheckpoint(source.checkpoint, backboneHash)).params.has("bn1.running_mean"),
    false,
  );
  assert.equal(r.paramsPerDomain > source.paramsPerDomain, true);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(sourceOut, { recursive: true });
});
