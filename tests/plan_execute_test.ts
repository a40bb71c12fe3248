/**
 * Executing a plan through its arena on the CPU gives bit-identical results
 * to the plain interpreter, with every freed slot poisoned; and the poison
 * guard does catch a plan that frees a value too early.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Tensor } from "../lib/graph/mod.ts";
import { inputs } from "../lib/graph/mod.ts";
import { type Plan, planGraph } from "../lib/plan/mod.ts";
import type { Feeds, TensorData } from "../lib/runtime/data.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { executePlanCpu } from "../lib/runtime/cpu/execute_plan.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { recipe, trainingGraph } from "./plan_dags.ts";
import type { Graph } from "../lib/graph/mod.ts";

/** A ResNet-20 training graph on 8×8 input, batch 2, 3 classes, under one method. */
const cifar8 = (method: MethodName) =>
  grad(classificationLoss(
    resnet20({ adaptor: METHODS[method]().adaptor, batch: 2, size: 8, classes: 3 }),
  ));

function feedsFor(g: Graph, seed: number): Feeds {
  const next = rng(seed);
  const data: Record<string, TensorData> = {};
  for (const x of inputs(g)) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    data[String(x.attrs.name)] = x.dtype === "i32"
      ? Int32Array.from({ length: n }, () => Math.floor(next() * 3))
      : Float32Array.from({ length: n }, () => 2 * next() - 1);
  }
  return { inputs: data, params: initParams(g, seed) };
}

/** True when every element is the same bit pattern (NaN equal to NaN). */
function identical(a: readonly TensorData[], b: readonly TensorData[]): boolean {
  return a.length === b.length &&
    a.every((x, k) => x.length === b[k].length && x.every((v, i) => Object.is(v, b[k][i])));
}

Deno.test("random training graphs: arena execution is bit-identical to executeCpu", () => {
  fc.assert(
    fc.property(recipe(16, 300), fc.nat(1000), fc.constantFrom(4, 256), (r, seed, alignment) => {
      const g = trainingGraph(r);
      const feeds = feedsFor(g.graph, seed);
      const plan = planGraph(g, { alignment });
      assert.ok(
        identical(executePlanCpu(plan, feeds, { poison: true }), executeCpu(g.graph, feeds)),
      );
    }),
    { numRuns: 300 },
  );
});

for (const method of Object.keys(METHODS) as MethodName[]) {
  Deno.test(`ResNet-20 (${method}): arena execution is bit-identical to executeCpu`, () => {
    const g = cifar8(method);
    const feeds = feedsFor(g.graph, 7);
    const plan = planGraph(g);
    assert.ok(
      plan.values.some((v) => v.inPlaceOf !== undefined),
      "some value is computed in place",
    );
    const expected = executeCpu(g.graph, feeds);
    assert.ok(expected.every((o) => o.every((v) => Number.isFinite(v))));
    assert.ok(identical(executePlanCpu(plan, feeds, { poison: true }), expected));
  });
}

/** The plan with one value's lifetime cut short: its slot is freed (and poisoned) too early. */
function freedEarly(plan: Plan, victim: number): Plan {
  const values = plan.values.map((v) => v.index === victim ? { ...v, lastRead: v.firstWrite } : v);
  return { ...plan, values };
}

Deno.test("the poison guard catches a read of a freed slot", () => {
  const g = cifar8("finetune");
  const feeds = feedsFor(g.graph, 3);
  const plan = planGraph(g);
  const expected = executeCpu(g.graph, feeds);
  const victim = plan.values.find((v) => v.saved && v.category === "saved" && v.dtype === "f32")!;
  const broken = executePlanCpu(freedEarly(plan, victim.index), feeds, { poison: true });
  assert.ok(!identical(broken, expected));
  assert.ok(broken.some((o) => o.some((v) => Number.isNaN(v))), "NaN reaches some output");
});

Deno.test("executePlanCpu uses one arena of arenaBytes and returns copies", () => {
  const g = cifar8("lastlayer");
  const feeds = feedsFor(g.graph, 5);
  const plan = planGraph(g);
  const [a] = executePlanCpu(plan, feeds);
  const [b] = executePlanCpu(plan, feeds);
  assert.equal(a.buffer.byteLength, a.byteLength, "outputs are copied out of the arena");
  assert.deepEqual(a, b);
  const tensors: readonly Tensor[] = plan.tensors;
  assert.equal(tensors.length, plan.values.length);
});
