/**
 * Executing a plan on the CPU runtime, inside one arena of exactly
 * `arenaBytes`, gives bit-identical results to the plain interpreter, with
 * the arena poisoned before each run and every freed slot poisoned; and the
 * poison guard does catch a plan that frees a value too early.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CPU_TARGET, type Plan, planGraph } from "../lib/plan/mod.ts";
import { type Feeds, PlanError, type TensorData } from "../lib/runtime/data.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { executePlanCpu, prepareCpuPlan } from "../lib/runtime/cpu/execute_plan.ts";
import { cpuRuntime, createCpuRuntime } from "../lib/runtime/cpu/runtime.ts";
import { grad, type GradResult } from "../lib/autodiff/mod.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { inferenceGraph, randomFeeds, recipe, trainingGraph } from "./plan_dags.ts";
import type { Graph } from "../lib/graph/mod.ts";

/** A ResNet-20 training graph on 8×8 input, batch 2, 3 classes, under one method. */
const cifar8 = (method: MethodName) =>
  grad(classificationLoss(
    resnet20({ adaptor: METHODS[method]().adaptor, batch: 2, size: 8, classes: 3 }),
  ));

/** True when every element is the same bit pattern (NaN equal to NaN). */
function identical(a: readonly TensorData[], b: readonly TensorData[]): boolean {
  return a.length === b.length &&
    a.every((x, k) => x.length === b[k].length && x.every((v, i) => Object.is(v, b[k][i])));
}

/** Runs `plan` twice on one prepared arena (poisoned before each run) and checks both runs. */
async function runsLikeInterpreter(plan: Plan, feeds: Feeds, expected: TensorData[]) {
  const rt = createCpuRuntime({ poison: true });
  const prepared = rt.prepared(plan);
  assert.equal(prepared.arena.byteLength, plan.arenaBytes);
  for (let run = 0; run < 2; run++) {
    assert.ok(identical(await rt.execute(plan, feeds), expected), `run ${run}`);
  }
}

Deno.test("random graphs: a plan on the CPU runtime gives the interpreter's outputs", async () => {
  await fc.assert(
    fc.asyncProperty(
      recipe(16, 300),
      fc.nat(1000),
      fc.constantFrom(4, 256),
      fc.boolean(),
      async (r, seed, alignment, training) => {
        const source = training ? trainingGraph(r) : inferenceGraph(r);
        const g = training ? (source as GradResult).graph : source as Graph;
        const feeds = randomFeeds(g, seed);
        const plan = planGraph(source, { ...CPU_TARGET, alignment });
        await runsLikeInterpreter(plan, feeds, executeCpu(g, feeds));
      },
    ),
    { numRuns: 300 },
  );
});

for (const method of Object.keys(METHODS) as MethodName[]) {
  Deno.test(`ResNet-20 (${method}): its plan on the CPU runtime gives the interpreter's outputs`, async () => {
    const g = cifar8(method);
    const feeds = randomFeeds(g.graph, 7);
    const plan = planGraph(g, cpuRuntime.target);
    assert.ok(
      plan.values.some((v) => v.inPlaceOf !== undefined),
      "some value is computed in place",
    );
    const expected = executeCpu(g.graph, feeds);
    assert.ok(expected.every((o) => o.every((v) => Number.isFinite(v))));
    await runsLikeInterpreter(plan, feeds, expected);
  });
}

/** The plan with one value's lifetime cut short: its slot is freed (and poisoned) too early. */
function freedEarly(plan: Plan, victim: number): Plan {
  const values = plan.values.map((v) => v.index === victim ? { ...v, lastRead: v.firstWrite } : v);
  return { ...plan, values };
}

Deno.test("the poison guard catches a read of a freed slot", () => {
  const g = cifar8("finetune");
  const feeds = randomFeeds(g.graph, 3);
  const plan = planGraph(g);
  const expected = executeCpu(g.graph, feeds);
  const victim = plan.values.find((v) => v.saved && v.category === "saved" && v.dtype === "f32")!;
  const broken = executePlanCpu(freedEarly(plan, victim.index), feeds, { poison: true });
  assert.ok(!identical(broken, expected));
  assert.ok(broken.some((o) => o.some((v) => Number.isNaN(v))), "NaN reaches some output");
});

Deno.test("the CPU runtime holds every arena value in one ArrayBuffer of exactly arenaBytes", async () => {
  const g = cifar8("da3");
  const feeds = randomFeeds(g.graph, 5);
  const plan = planGraph(g, cpuRuntime.target);
  const { arena, views } = cpuRuntime.prepared(plan);
  assert.equal(arena.byteLength, plan.arenaBytes);
  for (const v of plan.values) {
    const view = views[v.index];
    if (v.offset === null) {
      assert.equal(view, null, `${v.name} (${v.category}) lives outside the arena`);
      continue;
    }
    assert.ok(view && view.buffer === arena, `${v.name} is an arena view`);
    assert.equal(view.byteOffset, v.offset);
    assert.equal(view.byteLength, v.bytes);
  }
  const inPlace = plan.values.filter((v) => v.inPlaceOf !== undefined);
  assert.ok(inPlace.length > 0);
  for (const v of inPlace) {
    assert.equal(views[v.index]!.byteOffset, views[v.inPlaceOf!]!.byteOffset);
  }
  const [a] = await cpuRuntime.execute(plan, feeds);
  const out = await cpuRuntime.execute(plan, feeds);
  assert.equal(a.buffer.byteLength, a.byteLength, "arena outputs are copied out");
  assert.deepEqual(a, out[0]);
  const grads = plan.outputs.filter((i) => plan.values[i].category === "gradient");
  assert.ok(grads.length > 0);
  for (const k of grads.keys()) {
    const d = out[plan.outputs.indexOf(grads[k])];
    assert.notEqual(d.buffer, arena, "gradients have storage of their own");
  }
  cpuRuntime.release(plan);
  assert.notEqual(cpuRuntime.prepared(plan).arena, arena, "release drops the arena");
  cpuRuntime.release(plan);
});

Deno.test("a plan whose value lies outside its arena is a PlanError before any step runs", () => {
  const g = cifar8("lastlayer");
  const plan = planGraph(g);
  const last = plan.values.find((v) => v.offset !== null && v.dtype === "f32")!;
  const values = plan.values.map((v) => v === last ? { ...v, offset: plan.arenaBytes } : v);
  assert.throws(() => prepareCpuPlan({ ...plan, values }), PlanError);
  const odd = plan.values.map((v) => v === last ? { ...v, offset: 2 } : v);
  assert.throws(() => prepareCpuPlan({ ...plan, values: odd }), /not f32-aligned/);
});
