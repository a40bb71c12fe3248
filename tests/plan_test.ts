/**
 * The planner on known graphs: lifetimes, accounting, scheduling choices,
 * in-place reuse, plan quality, fitting a budget and the reports.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { grad } from "../lib/autodiff/mod.ts";
import { byteSize, graph, input, mean, param, relu, scale } from "../lib/graph/mod.ts";
import { mul } from "../lib/graph/mod.ts";
import {
  arenaRatio,
  BudgetError,
  CPU_TARGET,
  lowerBound,
  memorySummary,
  planFor,
  planGraph,
  planReport,
  recomputeAdvice,
  scheduleGraph,
} from "../lib/plan/mod.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 as cifarResnet20 } from "../lib/models/mod.ts";
import { inferenceGraph, recipe, trainingGraph } from "./plan_dags.ts";
import { MEMORY_SUMMARY_FIELDS } from "./memory_fields.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const NAMES = Object.keys(METHODS) as MethodName[];
const resnet20 = (method: MethodName, batch = 8, size = 32) =>
  grad(classificationLoss(
    cifarResnet20({ adaptor: METHODS[method]().adaptor, batch, size, classes: 10 }),
  ));

Deno.test("lifetimes and lower bound of a chain with one in-place op", () => {
  const x = input("x", [1000]);
  const y = relu(x); // may take x's bytes: x is read last here
  const s = mean(y);
  const plan = planGraph(graph(s), { ...CPU_TARGET, alignment: 4 });
  const [vx, vy, vs] = [0, 1, 2].map((k) => plan.values[plan.schedule[k]]);
  assert.deepEqual([vx.op, vy.op, vs.op], ["input", "relu", "mean"]);
  assert.deepEqual([vx.firstWrite, vx.lastRead], [0, 1]);
  assert.deepEqual([vy.firstWrite, vy.lastRead], [1, 2]);
  assert.deepEqual([vs.firstWrite, vs.lastRead], [2, 2]);
  assert.equal(vy.inPlaceOf, vx.index);
  assert.equal(vy.offset, vx.offset);
  assert.equal(plan.lowerBoundBytes, 4004);
  assert.equal(plan.arenaBytes, 4004);
  const noReuse = planGraph(graph(s), { ...CPU_TARGET, alignment: 4 }, { inPlace: false });
  assert.equal(noReuse.lowerBoundBytes, 8000);
  assert.equal(
    lowerBound([{ size: 5, first: 0, last: 1 }, { size: 7, first: 1, last: 2 }]).bytes,
    12,
  );
});

Deno.test("inputs and outputs live in the arena; weights and gradients do not", () => {
  const g = resnet20("bnhead");
  const plan = planGraph(g, CPU_TARGET, { optimizer: "sgd" });
  const byName = new Map(plan.values.map((v) => [v.name, v]));
  const x = byName.get("x")!, labels = byName.get("labels")!;
  assert.equal(x.category, "input");
  assert.notEqual(x.offset, null);
  assert.notEqual(labels.offset, null);
  const loss = plan.values[plan.outputs[0]];
  assert.equal(loss.category, "output");
  assert.equal(loss.lastRead, plan.schedule.length - 1);
  for (const v of plan.values) {
    if (v.op === "param") assert.equal(v.offset, null);
    if (v.category === "gradient") assert.equal(v.offset, null);
  }
  const params = plan.tensors.filter((t) => t.op === "param");
  const trainable = [...g.grads.keys()];
  assert.equal(plan.weightBytes, params.reduce((s, p) => s + byteSize(p.shape, "f32"), 0));
  assert.equal(plan.gradientBytes, trainable.reduce((s, p) => s + byteSize(p.shape, "f32"), 0));
  assert.equal(plan.optimizerBytes, plan.gradientBytes);
  assert.equal(
    planGraph(g, CPU_TARGET, { optimizer: "adam" }).optimizerBytes,
    2 * plan.gradientBytes,
  );
  assert.equal(planGraph(g).optimizerBytes, 0);
  assert.equal(plan.savedActivationBytes, g.savedBytes);
  assert.equal(byName.get("grad(fc.weight)")?.category, "gradient");
});

Deno.test("frozen convs: ReLU outputs die in the forward pass, backward keeps 1-bit masks", () => {
  for (const method of ["lastlayer", "bnhead"] as const) {
    const plan = planGraph(resnet20(method));
    const phaseAt = (s: number) => plan.values[plan.schedule[s]].phase;
    const relus = plan.values.filter((v) => v.op === "relu");
    assert.equal(relus.length, 19);
    for (const r of relus) {
      assert.equal(phaseAt(r.lastRead), "forward", `${method}: ${r.name} lives into backward`);
      assert.ok(!r.saved);
    }
    const masks = plan.values.filter((v) => v.op === "reluMask");
    assert.equal(masks.length, method === "bnhead" ? 19 : 0);
    for (const m of masks) {
      assert.ok(m.saved && m.phase === "forward");
      assert.ok(m.step <= plan.values[m.inputs[0]].lastRead);
    }
  }
});

Deno.test("the scheduler beats the graph's own order on a fine-tuning graph", () => {
  const g = resnet20("finetune");
  const persistent = new Set(g.grads.values());
  const chosen = scheduleGraph(g.graph, { persistent });
  const naive = scheduleGraph(g.graph, { persistent, strategies: ["graph-order"] });
  assert.ok(chosen.peakBytes <= 0.6 * naive.peakBytes, `${chosen.peakBytes} vs ${naive.peakBytes}`);
});

Deno.test("in-place reuse is explicit and never grows the arena", () => {
  for (const method of NAMES) {
    const g = resnet20(method);
    const plan = planGraph(g);
    const inPlace = plan.values.filter((v) => v.inPlaceOf !== undefined);
    assert.ok(inPlace.length > 0);
    for (const v of inPlace) {
      const u = plan.values[v.inPlaceOf!];
      assert.ok(v.inputs.includes(u.index));
      assert.equal(u.lastRead, v.step);
      assert.equal(u.bytes, v.bytes);
      assert.equal(u.offset, v.offset);
    }
    const none = planGraph(g, CPU_TARGET, { inPlace: false });
    assert.ok(none.values.every((v) => v.inPlaceOf === undefined));
    assert.ok(plan.lowerBoundBytes <= none.lowerBoundBytes);
  }
});

Deno.test("quality: median arena / lower bound on random graphs ≤ 1.10", () => {
  const rs = fc.sample(recipe(), { numRuns: 400, seed: 42 });
  const inference = rs.map((r) => arenaRatio(planGraph(inferenceGraph(r))));
  const training = rs.map((r) => arenaRatio(planGraph(trainingGraph(r))));
  assert.ok(median(inference) <= 1.10, `inference median ${median(inference)}`);
  assert.ok(median(training) <= 1.10, `training median ${median(training)}`);
});

Deno.test("quality: a 20-layer CNN's training plans are within 5% of the lower bound", () => {
  for (const method of NAMES) {
    const ratio = arenaRatio(planGraph(resnet20(method), CPU_TARGET, { optimizer: "adam" }));
    assert.ok(ratio <= 1.05, `${method}: arena / lower bound = ${ratio}`);
  }
});

const build = (batch: number) => resnet20("finetune", batch, 16);

Deno.test("planFor returns a batch that fits while batch + 1 does not", () => {
  const at5 = planGraph(build(5), CPU_TARGET, { optimizer: "adam" }).totalBytes;
  for (const budgetBytes of [at5, at5 + 1, at5 * 3.3]) {
    const r = planFor(build, { budgetBytes, optimizer: "adam" });
    assert.ok(r.plan.totalBytes <= budgetBytes);
    assert.equal(
      r.plan.totalBytes,
      planGraph(build(r.batch), CPU_TARGET, { optimizer: "adam" }).totalBytes,
    );
    const next = planGraph(build(r.batch + 1), CPU_TARGET, { optimizer: "adam" });
    assert.ok(next.totalBytes > budgetBytes, `batch ${r.batch + 1} also fits ${budgetBytes}`);
    assert.equal(r.recompute, undefined);
  }
  assert.equal(planFor(build, { budgetBytes: 1e12, maxBatch: 12 }).batch, 12);
});

Deno.test("planFor: recomputation advice when batch 1 is slightly over budget", () => {
  const one = planGraph(build(1));
  const budgetBytes = one.totalBytes - 10_000;
  const r = planFor(build, { budgetBytes });
  assert.equal(r.batch, 1);
  assert.ok(r.recompute && r.recompute.fits && r.recompute.values.length > 0);
  assert.ok(r.recompute.estimatedTotalBytes <= budgetBytes);
  const same = recomputeAdvice(one, budgetBytes);
  assert.deepEqual(same.values, r.recompute.values);
  for (const c of r.recompute.values) assert.ok(one.values[c.index].saved);
});

Deno.test("planFor throws a BudgetError naming the excess for an impossible budget", () => {
  const smallest = planGraph(build(1)).totalBytes;
  assert.throws(
    () => planFor(build, { budgetBytes: 100_000 }),
    (e: unknown) => {
      assert.ok(e instanceof BudgetError);
      assert.equal(e.excessBytes, smallest - 100_000);
      assert.equal(e.smallestBytes, smallest);
      assert.match(e.message, new RegExp(`${((smallest - 100_000) / 1e6).toFixed(2)} MB over`));
      return true;
    },
  );
});

Deno.test("planReport: table rows, totals, bound and ratio; memorySummary's stable fields", () => {
  const x = input("x", [4, 8]);
  const w = param("w", [4, 8]);
  const loss = mean(relu(scale(mul(x, w), 2)));
  const plan = planGraph(grad(loss), CPU_TARGET, { optimizer: "adam" });
  const { text, json } = planReport(plan);
  assert.equal(json.rows.length, plan.values.length);
  assert.equal(json.ratio, plan.arenaBytes / plan.lowerBoundBytes);
  assert.deepEqual(json.totals.weights, 128);
  assert.deepEqual(json.totals.trainableGrads, 128);
  assert.deepEqual(json.totals.optimizerState, 256);
  assert.match(text, /^name\s+op\s+type\s+bytes\s+category\s+lifetime\s+offset/);
  assert.match(text, /lower bound\s+0\.00 MB/);
  assert.match(text, /grad\(w\)/);
  JSON.parse(JSON.stringify(json));
  const s = memorySummary(plan, { model: "toy", method: "finetune", batch: 4, size: 8 });
  assert.deepEqual(Object.keys(s), [...MEMORY_SUMMARY_FIELDS]);
  assert.equal(s.totalBytes, s.weightBytes + s.gradientBytes + s.optimizerBytes + s.arenaBytes);
  assert.equal(s.optimizerBytes, 256);
});
