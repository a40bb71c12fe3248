/**
 * The optimizer on the WebGPU device: 20 steps of a small CNN whose plan
 * ends in update ops (parameters and state written in place on the device,
 * read back only at the end) against the same steps with the gradients read
 * back and the host optimizer applied. The WGSL updates compute in f32
 * where the host computes in f64 and rounds what it stores, and WGSL's
 * division and square root may differ by an ulp; the documented tolerance
 * is |device − host| ≤ 1e-6·(1 + |host|) after 20 steps, at a constant
 * rate and under a warm-up-then-cosine schedule (the factor of each step
 * fed in the step input, one plan for every step); a factor ½ equals half
 * the rate bit for bit. Frozen parameters
 * are never written. A training run on WebGPU reads back only the loss and
 * logits per step and the parameters once per epoch. Needs a WebGPU
 * adapter (Mesa llvmpipe in CI).
 */
import assert from "node:assert/strict";
import { OPTIMIZER_STEP_INPUT, optimizerStepValues } from "../lib/graph/mod.ts";
import { withOptimizer } from "../lib/autodiff/mod.ts";
import { planGraph } from "../lib/plan/plan.ts";
import type { ParamStore, Runtime } from "../lib/runtime/data.ts";
import { trainDomain } from "../lib/train/domain.ts";
import { initParams } from "../lib/runtime/params.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import {
  initOptimizer,
  type OptimizerConfig,
  optimizerStateTensors,
  optimizerStep,
} from "../lib/train/optimizer.ts";
import { CONSTANT_LR, lrFactor, type LrSchedule } from "../lib/train/schedule.ts";
import { gradientsOf } from "../lib/train/step.ts";
import { batchesOf, smallCnn } from "./optimizer_fixture.ts";
import { job } from "./train_fixture.ts";

/** The documented tolerance of the device optimizer against the host's. */
const TOLERANCE = 1e-6;

function assertClose(device: Float32Array, host: Float32Array, what: string): void {
  assert.equal(device.length, host.length, what);
  for (let i = 0; i < host.length; i++) {
    const err = Math.abs(device[i] - host[i]) / (1 + Math.abs(host[i]));
    if (!(err <= TOLERANCE)) assert.fail(`${what}[${i}]: device ${device[i]} vs host ${host[i]}`);
  }
}

const CONFIGS: readonly OptimizerConfig[] = [
  { kind: "sgd", momentum: 0.9, weightDecay: 1e-3 },
  { kind: "adam", weightDecay: 1e-2 },
];

const SCHEDULES: readonly LrSchedule[] = [CONSTANT_LR, { kind: "cosine", warmup: 3 }];

for (const config of CONFIGS) {
  for (const schedule of SCHEDULES) {
    Deno.test({
      name:
        `20 ${config.kind} steps, ${schedule.kind} rate (warm-up ${schedule.warmup}), on the WebGPU device agree with the host optimizer`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const gpu = await createWebGpuRuntime();
        try {
          const g = smallCnn(4, 5);
          const lr = config.kind === "sgd" ? 0.05 : 0.01;
          const og = withOptimizer(g, config, lr);
          const hostPlan = planGraph(g, gpu.target);
          const devicePlan = planGraph(og, gpu.target);
          let host: ParamStore = initParams(g.graph, 3);
          let state = initOptimizer(config);
          const params = initParams(og.graph, 3);
          const fed = new Map(params);
          const batches = batchesOf(4, 5, 20, 7);
          const factor = (t: number) => lrFactor(schedule, t, batches.length);
          for (const [t, b] of batches.entries()) {
            const out = await gpu.execute(hostPlan, { inputs: b, params: host });
            const grads = gradientsOf(g, out);
            ({ params: host, state } = optimizerStep(state, host, grads, lr, factor(t)));
          }
          // The device run hands other arrays for the same names: they are uploaded once.
          for (const [t, b] of batches.entries()) {
            const step = optimizerStepValues(config, t + 1, factor(t));
            const inputs = { ...b, [OPTIMIZER_STEP_INPUT]: step };
            const [loss] = await gpu.execute(devicePlan, { inputs, params });
            assert.ok(Number.isFinite((loss as Float32Array)[0]));
          }
          const names = [...params.keys()];
          const device = await gpu.readParams(names, params);
          for (const [k, v] of fed) assert.equal(params.get(k), v, `host array of ${k} kept`);
          for (const [name, w] of host) {
            assertClose(device.get(name)!, w, name);
          }
          for (const [name, s] of optimizerStateTensors(state)) {
            if (name !== "step") assertClose(device.get(name)!, s, name);
          }
          assert.deepEqual(device.get("c1.w"), params.get("c1.w"), "the frozen conv is untouched");
          assert.notDeepEqual(
            device.get("fc.w"),
            params.get("fc.w"),
            "the head moved on the device",
          );
        } finally {
          gpu.destroy();
        }
      },
    });
  }
}

Deno.test({
  name:
    "on the WebGPU device, rate lr with factor ½ every step equals rate lr/2 with factor 1, bit for bit",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gpu = await createWebGpuRuntime();
    try {
      for (const config of CONFIGS) {
        const g = smallCnn(4, 5);
        const run = async (lr: number, f: number) => {
          const og = withOptimizer(g, config, lr);
          const plan = planGraph(og, gpu.target);
          const params = new Map([...initParams(og.graph, 3)].map(([k, v]) => [k, v.slice()]));
          for (const [t, b] of batchesOf(4, 5, 5, 7).entries()) {
            const inputs = { ...b, [OPTIMIZER_STEP_INPUT]: optimizerStepValues(config, t + 1, f) };
            await gpu.execute(plan, { inputs, params });
          }
          return await gpu.readParams([...params.keys()], params);
        };
        const halved = await run(0.04, 0.5), baked = await run(0.02, 1), full = await run(0.04, 1);
        for (const [name, w] of baked) {
          assert.deepEqual(halved.get(name), w, `${config.kind} ${name}`);
        }
        assert.notDeepEqual(
          full.get("fc.w"),
          baked.get("fc.w"),
          `${config.kind}: the factor matters`,
        );
      }
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "WebGPU training reads back the loss and logits per step and the parameters once per epoch",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gpu = await createWebGpuRuntime();
    const out = await Deno.makeTempDir();
    let steps = 0, reads = 0, stepBytes = 0;
    const recording: Runtime = {
      name: gpu.name,
      target: gpu.target,
      prepare: (plan) => gpu.prepare(plan),
      release: (plan) => gpu.release(plan),
      async execute(plan, feeds) {
        const r = await gpu.execute(plan, feeds);
        if (plan.values.some((v) => v.category === "update")) {
          steps++;
          stepBytes += r.reduce((s, a) => s + a.byteLength, 0);
        }
        return r;
      },
      readParams(names, params) {
        reads++;
        return gpu.readParams(names, params);
      },
    };
    try {
      const r = await trainDomain(job(out, { epochs: 2, runtime: recording }));
      assert.equal(steps, 4);
      assert.equal(reads, 2);
      // Per step: the loss (4 bytes) and the logits (batch 4 × 3 classes × 4 bytes), nothing else.
      assert.equal(stepBytes, steps * (4 + 4 * 3 * 4));
      assert.ok([...r.params.values()].every((w) => w.every(Number.isFinite)));
    } finally {
      await Deno.remove(out, { recursive: true });
      gpu.destroy();
    }
  },
});
