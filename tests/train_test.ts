/**
 * The training loop on the CPU runtime with a tiny synthetic domain:
 * checkpoints reproduce the reported accuracy, resuming is bit-exact, and a
 * diverging run stops with a clear error and keeps its last good checkpoint.
 */
import assert from "node:assert/strict";
import { cpuRuntime, type Dataset, initParams } from "../mod.ts";
import { CheckpointError, hashParams, loadCheckpoint } from "../lib/train/checkpoint.ts";
import {
  type DomainJob,
  evaluate,
  methodGraphs,
  trainDomain,
  TrainingError,
} from "../lib/train/domain.ts";
import { channelStats } from "../lib/data/mod.ts";

function synthetic(n: number, seed: number): Dataset {
  const images = new Uint8Array(n * 3 * 32 * 32);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let k = 0; k < 3 * 32 * 32; k++) {
      images[i * 3072 + k] = (Math.sin(k * (labels[i] + 1) * 0.01 + seed * 7 + i) * 60 + 128) |
        0;
    }
  }
  return {
    name: "fashion",
    classes: ["a", "b", "c"],
    images,
    labels,
    shape: [3, 32, 32],
    source: "test",
  };
}

const backbone = new Map(
  [...initParams(methodGraphs("finetune", 3, 2).train.graph, 7)].filter(([k]) =>
    !k.startsWith("fc.")
  ),
);
const backboneHash = await hashParams(backbone);

function job(out: string, over: Partial<DomainJob> = {}): DomainJob {
  return {
    method: "da3",
    domain: "fashion",
    train: synthetic(8, 1),
    test: synthetic(6, 2),
    backbone,
    backboneHash,
    runtime: cpuRuntime,
    epochs: 1,
    batch: 4,
    lr: 1e-2,
    optimizer: "adam",
    seed: 3,
    out,
    resume: false,
    progress: () => {},
    ...over,
  };
}

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

Deno.test("a NaN loss stops with TrainingError and keeps the last good checkpoint", async () => {
  const out = await Deno.makeTempDir();
  await trainDomain(job(out, { epochs: 1 }));
  const path = `${out}/da3-fashion.epoch.safetensors`;
  const before = await Deno.readFile(path);
  await assert.rejects(
    async () => await trainDomain(job(out, { epochs: 2, resume: true, lr: Infinity })),
    (e: unknown) =>
      e instanceof TrainingError && e.message.includes("loss is NaN at epoch 2 step 2") &&
      e.message.includes(path),
  );
  const after = await Deno.readFile(path);
  assert.ok(after.length === before.length && after.every((b, i) => b === before[i]));
  assert.equal((await loadCheckpoint(path, backboneHash)).meta.epoch, 1);
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
