/**
 * The optimizer as ops of the training graph: `withOptimizer` appends one
 * update per trainable parameter; the plan runs each right after its
 * gradient is final and after every other reader of its parameter; the
 * gradients become arena values and the optimizer state is counted from
 * its parameters. Over 20 steps of a small CNN, the planned CPU runtime
 * (and the unplanned interpreter) give bit for bit the host optimizer's
 * parameters and state, for SGD with momentum and for Adam, with weight
 * decay and per-parameter learning rates.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  adamUpdate,
  graph,
  input,
  isUpdate,
  OPTIMIZER_STEP_INPUT,
  optimizerState,
  optimizerStepInput,
  optimizerStepValues,
  param,
  sgdUpdate,
  ShapeError,
  sourceName,
  type UpdateRule,
} from "../lib/graph/mod.ts";
import { type GradResult, withOptimizer } from "../lib/autodiff/mod.ts";
import { planGraph } from "../lib/plan/plan.ts";
import { createCpuRuntime, executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { initParams } from "../lib/runtime/params.ts";
import {
  initOptimizer,
  type OptimizerConfig,
  optimizerStateTensors,
  optimizerStep,
} from "../lib/train/optimizer.ts";
import { gradientsOf } from "../lib/train/step.ts";
import { batchesOf, smallCnn } from "./optimizer_fixture.ts";

const lrScale = (name: string) => (name.startsWith("fc.") ? 0.5 : 1);

/** 20 host-optimizer steps: parameters and state. */
function hostRun(g: GradResult, config: OptimizerConfig, lr: number, params: ParamStore) {
  let state = initOptimizer(config);
  let p: ParamStore = new Map(params);
  for (const b of batchesOf(4, 5, 20, 7)) {
    const out = executeCpu(g.graph, { inputs: b, params: p });
    ({ params: p, state } = optimizerStep(state, p, gradientsOf(g, out), (n) => lr * lrScale(n)));
  }
  return { params: p, state: optimizerStateTensors(state) };
}

const CONFIGS: readonly OptimizerConfig[] = [
  { kind: "sgd", momentum: 0.9 },
  { kind: "sgd", momentum: 0.8, weightDecay: 1e-3 },
  { kind: "adam" },
  { kind: "adam", beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-2 },
];

function assertBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

for (const config of CONFIGS) {
  Deno.test(`20 device ${JSON.stringify(config)} steps on the CPU equal the host optimizer bit for bit`, async () => {
    const g = smallCnn(4, 5);
    const lr = config.kind === "sgd" ? 0.05 : 0.01;
    const initial = initParams(g.graph, 3);
    const host = hostRun(g, config, lr, initial);
    const og = withOptimizer(g, config, (n) => lr * lrScale(n));
    const plan = planGraph(og);
    const runtime = createCpuRuntime({ poison: true });
    // Parameters and zeroed state, copied: the updates write them in place.
    const planned = new Map([...initParams(og.graph, 3)].map(([k, v]) => [k, v.slice()]));
    const interpreted = new Map([...planned].map(([k, v]) => [k, v.slice()]));
    const batches = batchesOf(4, 5, 20, 7);
    for (const [t, b] of batches.entries()) {
      const step = optimizerStepValues(config, t + 1);
      const inputs = { ...b, [OPTIMIZER_STEP_INPUT]: step };
      const out = await runtime.execute(plan, { inputs, params: planned });
      executeCpu(og.graph, { inputs, params: interpreted });
      assert.equal(out.length, 2 + og.updates.size);
      assert.ok(Number.isFinite((out[0] as Float32Array)[0]));
    }
    for (const [name, w] of host.params) {
      assertBits(planned.get(name)!, w, `planned ${name}`);
      assertBits(interpreted.get(name)!, w, `interpreted ${name}`);
    }
    for (const [name, s] of host.state) {
      if (name === "step") continue;
      assertBits(planned.get(name)!, s, `planned state ${name}`);
    }
    assert.deepEqual(initial.get("c1.w"), planned.get("c1.w"), "the frozen conv is untouched");
  });
}

Deno.test("each update runs after its gradient is final and every other reader of its parameter", () => {
  const og = withOptimizer(smallCnn(4, 5), { kind: "adam" }, 1e-3);
  const plan = planGraph(og);
  const stepOf = new Map(plan.schedule.map((v, s) => [v, s]));
  for (const [p, u] of og.updates) {
    const ui = plan.tensors.indexOf(u), pi = plan.tensors.indexOf(p);
    const us = stepOf.get(ui)!;
    const d = plan.tensors.indexOf(og.grads.get(p)!);
    assert.ok(stepOf.get(d)! < us, `${sourceName(p)}: gradient before its update`);
    for (const v of plan.values) {
      if (v.index !== ui && v.inputs.includes(pi)) {
        assert.ok(
          stepOf.get(v.index)! < us,
          `${sourceName(p)}: ${v.name} reads it before the update`,
        );
      }
    }
    // The gradient dies at its update: an arena value read last there.
    const gv = plan.values[d];
    assert.equal(gv.category, "transient");
    assert.notEqual(gv.offset, null);
    assert.equal(gv.lastRead, us);
    // Nothing but updates, their step input and readers of the parameter runs between the
    // gradient's last contribution and its update.
    for (let s = stepOf.get(d)! + 1; s < us; s++) {
      const w = plan.tensors[plan.schedule[s]];
      const stepInput = w.op === "input" && w.attrs.name === OPTIMIZER_STEP_INPUT;
      assert.ok(
        isUpdate(w) || stepInput || w.inputs.includes(p),
        `${sourceName(p)}: step ${s} ${w.op} waits`,
      );
    }
    assert.equal(plan.values[ui].category, "update");
    assert.equal(plan.values[ui].offset, null);
  }
});

Deno.test("accounting: no persistent gradients, the optimizer state counted from its parameters", () => {
  const g = smallCnn(4, 5);
  for (const config of CONFIGS) {
    const before = planGraph(g, undefined, { optimizer: config.kind });
    const after = planGraph(withOptimizer(g, config, 0.01));
    assert.equal(after.optimizer, config.kind);
    assert.equal(after.gradientBytes, 0);
    assert.ok(before.gradientBytes > 0);
    assert.equal(after.optimizerBytes, before.optimizerBytes);
    assert.equal(after.weightBytes, before.weightBytes);
    assert.equal(after.trainableBytes, before.trainableBytes);
    assert.equal(
      after.totalBytes,
      after.weightBytes + after.optimizerBytes + after.arenaBytes,
    );
    const states = after.values.filter((v) => v.category === "state");
    assert.equal(states.length, (config.kind === "adam" ? 2 : 1) * g.grads.size);
    assert.ok(states.every((v) => v.offset === null && /#[01]$/.test(v.name)));
    assert.ok(after.values.every((v) => v.category !== "gradient"));
  }
});

Deno.test("the update ops refuse operands that do not fit (ShapeError naming the op and the operand)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (a, b) => {
      fc.pre(a !== b);
      const w = param("w", [a]);
      const step = optimizerStepInput();
      const bad = param("g", [b]);
      assert.throws(
        () => sgdUpdate(w, bad, optimizerState(w, 0), step, { kind: "sgd" }, 0.1),
        (e: unknown) => e instanceof ShapeError && /sgdUpdate: grad must be f32/.test(e.message),
      );
      assert.throws(
        () => adamUpdate(w, param("d", [a]), optimizerState(w, 0), bad, step, { kind: "adam" }, 1),
        (e: unknown) => e instanceof ShapeError && /adamUpdate: v must be f32/.test(e.message),
      );
    }),
  );
  const w = param("w", [2]);
  assert.throws(
    () => sgdUpdate(w, w, w, input("s", [2]), { kind: "sgd" }, 0.1),
    (e: unknown) => e instanceof ShapeError && /step must be/.test(e.message),
  );
});

Deno.test("optimizerStepValues holds t, Adam's bias corrections and the learning-rate factor", () => {
  const rule: UpdateRule = { kind: "adam", beta1: 0.5, beta2: 0.75 };
  assert.deepEqual([...optimizerStepValues(rule, 2)], [2, 0.75, 1 - 0.5625, 1]);
  assert.deepEqual([...optimizerStepValues({ kind: "sgd" }, 3, 0.25)], [3, 0, 0, 0.25]);
});

Deno.test("an update op with learning-rate factor f equals the host update with rate lr·f, bit for bit", () => {
  const f32s = (n: number) =>
    fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: n, maxLength: n })
      .map((a) => Float32Array.from(a));
  const rules: readonly UpdateRule[] = [
    { kind: "sgd", momentum: 0.9, weightDecay: 1e-3 },
    { kind: "adam", weightDecay: 1e-2 },
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...rules),
      fc.float({ min: Math.fround(1e-6), max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 3 }),
      f32s(6),
      f32s(6),
      (rule, f, steps, w0, g) => {
        const w = param("w", [6]);
        const d = input("d", [6]);
        const step = optimizerStepInput();
        const u = rule.kind === "sgd"
          ? sgdUpdate(w, d, optimizerState(w, 0), step, rule, 0.05)
          : adamUpdate(w, d, optimizerState(w, 0), optimizerState(w, 1), step, rule, 0.05);
        const params = new Map([["w", w0.slice()], ["w#0", new Float32Array(6)], [
          "w#1",
          new Float32Array(6),
        ]]);
        let host: ParamStore = new Map([["w", w0]]);
        let state = initOptimizer(rule);
        for (let t = 1; t <= steps; t++) {
          const inputs = { d: g, [OPTIMIZER_STEP_INPUT]: optimizerStepValues(rule, t, f) };
          executeCpu(graph(u), { inputs, params });
          ({ params: host, state } = optimizerStep(state, host, new Map([["w", g]]), 0.05 * f));
        }
        assertBits(params.get("w")!, host.get("w") as Float32Array, "w");
        const slots = state.slots.get("w")!;
        slots.forEach((s, k) => assertBits(params.get(`w#${k}`)!, s, `w#${k}`));
      },
    ),
    { numRuns: 100 },
  );
});
