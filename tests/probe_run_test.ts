/**
 * `--method probe` in a run: the head it saves reproduces its reported
 * validation and test top-1 through `lastlayer`'s eval graph, it is fitted on
 * the frozen pooled features, and its memory is the forward plan plus the fit.
 */
import assert from "node:assert/strict";
import { cpuRuntime, type Dataset, initParams } from "../mod.ts";
import { channelStats, loadEmbedded } from "../lib/data/mod.ts";
import { planGraph } from "../lib/plan/mod.ts";
import { hashParams, loadCheckpoint } from "../lib/io/checkpoint.ts";
import { parseTrainConfig } from "../lib/train/config.ts";
import { evaluate, methodGraphs, trainDomain } from "../lib/train/domain.ts";
import { extractFeatures, featuresGraph, fitProbeMemo, probeFitBytes } from "../lib/train/probe.ts";
import { fitProbe } from "../lib/train/probe_cv.ts";
import { trainProbe } from "../lib/train/probe_run.ts";
import { fitAndValidation } from "../lib/train/run.ts";

function synthetic(n: number, seed: number): Dataset {
  const images = new Uint8Array(n * 3 * 32 * 32), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let k = 0; k < 3 * 32 * 32; k++) {
      images[i * 3072 + k] = (Math.sin(k * (labels[i] + 1) * 0.01 + seed * 7 + i) * 60 + 128) | 0;
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

/** A probe (or training) job on the synthetic domain, CPU runtime, one epoch of batch 4. */
function probeJob(train: Dataset, test: Dataset, out: string) {
  return {
    domain: "fashion",
    train,
    test,
    backbone,
    backboneHash,
    runtime: cpuRuntime,
    epochs: 1,
    batch: 4,
    lr: 1e-3,
    optimizer: "adam" as const,
    seed: 0,
    out,
    resume: false,
  };
}

Deno.test("probe run: its checkpoint holds only the head and reproduces validation and test top-1", async () => {
  const out = await Deno.makeTempDir();
  const [train, validation, test] = [synthetic(20, 1), synthetic(9, 3), synthetic(6, 2)];
  const r = await trainProbe({ ...probeJob(train, test, out), validation });
  const c = await loadCheckpoint(r.checkpoint, backboneHash);
  assert.deepEqual([...c.params.keys()].sort(), ["fc.bias", "fc.weight"]);
  assert.equal(c.params.get("fc.weight")!.length, 3 * 64);
  assert.equal(r.paramsPerDomain, 3 * 65);
  assert.equal(c.meta.top1, r.top1);
  assert.equal(c.meta.valTop1, r.valTop1);
  assert.deepEqual(c.shapes.get("fc.weight"), [3, 64]);
  const g = methodGraphs("lastlayer", 3, 4), params = new Map([...backbone, ...c.params]);
  const stats = channelStats(train);
  assert.equal(await evaluate(cpuRuntime, g.eval, params, test, stats, 4), r.top1);
  assert.equal(await evaluate(cpuRuntime, g.eval, params, validation, stats, 4), r.valTop1);
  assert.ok(r.record.gradNorm <= 1e-8, `converged: ${r.record.gradNorm}`);
  // The head is the probe fitted on the training examples' frozen features, nothing else.
  const plan = planGraph(featuresGraph(3, 4), cpuRuntime.target);
  const f = await extractFeatures(cpuRuntime, plan, new Map(backbone), train, stats);
  const again = fitProbe(f, train.labels, { classes: 3, seed: 0 });
  assert.equal(again.lambda, r.record.lambda);
  const w = c.params.get("fc.weight")!;
  assert.ok(w.every((v, i) => Math.abs(v - again.head.weight[i]) <= 1e-6 * (1 + Math.abs(v))));
  assert.equal(r.trainingBytes, plan.totalBytes + probeFitBytes(20, 64, 3));
  await Deno.remove(out, { recursive: true });
});

Deno.test("probe with --bn-stats domain: fitted on re-estimated statistics, which its checkpoint holds", async () => {
  const out = await Deno.makeTempDir();
  const [train, test] = [synthetic(20, 1), synthetic(6, 2)];
  const r = await trainProbe({ ...probeJob(train, test, out), bnStats: "domain" });
  const c = await loadCheckpoint(r.checkpoint, backboneHash);
  const stats = [...c.params.keys()].filter((k) => /running_(mean|var)$/.test(k));
  assert.ok(stats.length > 0, "the re-estimated statistics are stored");
  assert.ok(stats.some((k) => c.params.get(k)!.some((v, i) => v !== backbone.get(k)![i])));
  assert.equal(r.paramsPerDomain, [...c.params.values()].reduce((s, v) => s + v.length, 0));
  const g = methodGraphs("lastlayer", 3, 4), params = new Map([...backbone, ...c.params]);
  assert.equal(await evaluate(cpuRuntime, g.eval, params, test, channelStats(train), 4), r.top1);
  await Deno.remove(out, { recursive: true });
});

Deno.test("--head-init probe starts the head at the probe fit (linear-probe-then-adapt)", async () => {
  const [out, probeOut] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const [train, test] = [synthetic(20, 1), synthetic(6, 2)];
  const common = { ...probeJob(train, test, probeOut), progress: () => {} };
  const probe = await trainProbe(common);
  // A vanishing rate keeps the head where it started: the probe's head, the probe's accuracy.
  const validation = synthetic(9, 3);
  const r = await trainDomain({
    ...common,
    method: "lastlayer",
    lr: 1e-30,
    out,
    headInit: "probe",
    validation,
  });
  assert.equal(r.top1, probe.top1);
  // The final checkpoint records the validation figure and the recipe, and reproduces the figure.
  const c = await loadCheckpoint(r.checkpoint, backboneHash);
  assert.equal(c.meta.valTop1, r.valTop1);
  assert.equal(c.meta.run?.headInit, "probe");
  const g = methodGraphs("lastlayer", 3, 4), params = new Map([...backbone, ...c.params]);
  assert.equal(
    await evaluate(cpuRuntime, g.eval, params, validation, channelStats(train), 4),
    r.valTop1,
  );
  const w = r.params.get("fc.weight")!, p = probe.params.get("fc.weight")!;
  assert.ok(w.every((v, i) => Math.abs(v - p[i]) < 1e-6));
  const zeros = await trainDomain({
    ...common,
    method: "lastlayer",
    lr: 1e-30,
    out,
    headInit: "zeros",
  });
  assert.ok(zeros.params.get("fc.weight")!.every((v) => Math.abs(v) < 1e-20));
  await Deno.remove(out, { recursive: true });
  await Deno.remove(probeOut, { recursive: true });
});

Deno.test("a run fits on the examples left after the validation split, --limit of them", async () => {
  const split = await loadEmbedded("letters");
  const config = parseTrainConfig({ backbone: "resnet20-mnist", limit: 600 });
  const { fit, validation } = fitAndValidation(split.train, config);
  assert.equal(validation.labels.length, 200);
  assert.equal(fit.labels.length, 600);
  const again = fitAndValidation(split.train, config);
  assert.deepEqual(again.validation.images, validation.images, "the validation split is seeded");
  const whole = fitAndValidation(split.train, parseTrainConfig({ backbone: "resnet20-mnist" }));
  assert.equal(whole.fit.labels.length, 800);
  assert.deepEqual(whole.validation.labels, validation.labels, "--limit leaves validation alone");
});

Deno.test("the probe fit is memoised on its features, labels and options", () => {
  const n = 40, d = 3;
  const x = Float64Array.from(
    { length: n * d },
    (_, i) => Math.sin(i * 1.7) + (i % d === 0 ? (Math.floor(i / d) % 2) * 3 : 0),
  );
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const f = { x, n, d };
  const a = fitProbeMemo(f, labels, { classes: 2, seed: 0 });
  assert.equal(fitProbeMemo({ x: x.slice(), n, d }, labels.slice(), { classes: 2, seed: 0 }), a);
  const moved = x.slice();
  moved[5] += 1e-9;
  assert.notEqual(fitProbeMemo({ x: moved, n, d }, labels, { classes: 2, seed: 0 }), a);
  assert.notEqual(fitProbeMemo(f, labels, { classes: 2, seed: 1 }), a);
  assert.deepEqual(fitProbeMemo(f, labels, { classes: 2, seed: 0 }).probe.head, a.probe.head);
  assert.equal(fitProbeMemo(f, labels, { classes: 2, seed: 0 }).fitMs, a.fitMs);
});
