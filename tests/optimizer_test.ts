/**
 * SGD with momentum and Adam as pure functions: hand-computed steps, no
 * mutation of their arguments, determinism, typed errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  initOptimizer,
  type OptimizerConfig,
  OptimizerError,
  optimizerStateFromTensors,
  optimizerStateTensors,
  optimizerStep,
  stateFactor,
} from "../lib/train/optimizer.ts";
import { piggyback } from "../lib/adapt/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";

const f32 = (...v: number[]) => new Float32Array(v);
const close = (a: Float32Array, b: number[], tol = 1e-6) =>
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol, `[${i}] ${a[i]} vs ${v}`));

Deno.test("SGD with momentum and weight decay follows PyTorch's update", () => {
  const params = new Map([["w", f32(1, -2)], ["frozen", f32(3)]]);
  const grads = new Map([["w", f32(0.5, 0.5)]]);
  let state = initOptimizer({ kind: "sgd", momentum: 0.9 });
  const one = optimizerStep(state, params, grads, 0.1);
  close(one.params.get("w")!, [0.95, -2.05]);
  state = one.state;
  const two = optimizerStep(state, one.params, grads, 0.1);
  close(two.params.get("w")!, [0.855, -2.145]); // v = 0.9·0.5 + 0.5
  assert.equal(two.params.get("frozen"), params.get("frozen"));
  const wd = optimizerStep(initOptimizer({ kind: "sgd", weightDecay: 0.1 }), params, grads, 0.1);
  close(wd.params.get("w")!, [1 - 0.1 * 0.6, -2 - 0.1 * 0.3]);
});

Deno.test("Adam's first step moves each weight by lr in the gradient's sign", () => {
  const params = new Map([["w", f32(1, 1, 1)]]);
  const grads = new Map([["w", f32(3, -1e-3, 0)]]);
  const r = optimizerStep(initOptimizer({ kind: "adam" }), params, grads, 0.01);
  close(r.params.get("w")!, [0.99, 1.01, 1], 1e-5);
  assert.equal(r.state.step, 1);
  assert.equal(r.state.slots.get("w")!.length, 2);
  assert.equal(stateFactor({ kind: "adam" }), 2);
  assert.equal(stateFactor({ kind: "sgd" }), 1);
  assert.equal(stateFactor({ kind: "sgd", momentum: 0 }), 0);
});

Deno.test("a step is pure and deterministic", () => {
  const config = fc.constantFrom<OptimizerConfig>(
    { kind: "sgd", momentum: 0.9, weightDecay: 1e-4 },
    { kind: "adam", weightDecay: 1e-4 },
  );
  const values = fc.float32Array({ minLength: 1, maxLength: 16, noNaN: true, min: -10, max: 10 });
  fc.assert(fc.property(config, values, (c, w) => {
    const g = w.map((v) => v * 0.5 - 1);
    const params = new Map([["w", w.slice()]]);
    const grads = new Map([["w", g.slice()]]);
    const s0 = initOptimizer(c);
    const a = optimizerStep(optimizerStep(s0, params, grads, 0.01).state, params, grads, 0.01);
    const b = optimizerStep(optimizerStep(s0, params, grads, 0.01).state, params, grads, 0.01);
    assert.deepEqual(a.params.get("w"), b.params.get("w"));
    assert.deepEqual(params.get("w"), w);
    assert.deepEqual(grads.get("w"), g);
    assert.equal(s0.step, 0);
    assert.equal(s0.slots.size, 0);
  }));
});

Deno.test("a gradient without its parameter, or of the wrong size, is a typed error", () => {
  const s = initOptimizer({ kind: "sgd" });
  const params = new Map([["w", f32(1, 2)]]);
  assert.throws(() => optimizerStep(s, params, new Map([["v", f32(1)]]), 0.1), OptimizerError);
  assert.throws(
    () => optimizerStep(s, params, new Map([["w", f32(1)]]), 0.1),
    /"w" has 1 elements, parameter has 2/,
  );
});

Deno.test("a per-parameter learning rate scales each update; Piggyback's masks move 10× slower", () => {
  const params = new Map([["a", f32(1)], ["b.mask", f32(1)]]);
  const grads = new Map([["a", f32(1)], ["b.mask", f32(1)]]);
  const scale = piggyback().lrScale!;
  const r = optimizerStep(initOptimizer({ kind: "adam" }), params, grads, (n) => 0.1 * scale(n));
  close(r.params.get("a")!, [0.9], 1e-6);
  close(r.params.get("b.mask")!, [0.99], 1e-6);
});

Deno.test("optimizer state stored as tensors continues bit-exactly (SGD and Adam)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<OptimizerConfig>({ kind: "sgd", momentum: 0.9 }, { kind: "adam" }),
      fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 4 }),
      (config, g, steps) => {
        const grads = new Map([["w", Float32Array.from(g)], ["b", Float32Array.of(g[0])]]);
        let params: ParamStore = new Map([["w", new Float32Array(g.length)], ["b", f32(1)]]);
        let state = initOptimizer(config);
        for (let i = 0; i < steps; i++) {
          ({ params, state } = optimizerStep(state, params, grads, 0.1));
        }
        const restored = optimizerStateFromTensors(config, optimizerStateTensors(state));
        assert.equal(restored.step, state.step);
        const a = optimizerStep(state, params, grads, 0.1);
        const b = optimizerStep(restored, params, grads, 0.1);
        for (const [k, v] of a.params) assert.deepEqual(b.params.get(k), v, k);
      },
    ),
    { numRuns: 100 },
  );
});
