/**
 * Non-finite values and a lost device on the WebGPU runtime: a NaN or +∞
 * logit, or a NaN weight that reaches the logits, gives a NaN loss on the
 * host exactly where the CPU runtime's loss is NaN (WGSL's `min`/`max` may
 * drop NaN, so the loss kernel checks the logits' bits); a device destroyed
 * in the middle of a training step rejects with DeviceLostError, leaves the
 * host's parameters as they were, and a new runtime continues from them.
 * Needs a WebGPU adapter.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { graph, input, linear, param, relu, softmaxCrossEntropy } from "../lib/graph/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { createWebGpuRuntime, type WebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { DeviceLostError } from "../lib/runtime/webgpu/errors.ts";
import { runGraph } from "../lib/runtime/run_graph.ts";

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

let shared: Promise<WebGpuRuntime> | null = null;
function runtime(): Promise<WebGpuRuntime> {
  shared ??= createWebGpuRuntime({ maxCachedPlans: 4 });
  return shared;
}

/** Both runtimes' loss: finite and close, or both non-finite. */
function sameLoss(gpu: number, cpu: number, what: string): void {
  assert.equal(Number.isFinite(gpu), Number.isFinite(cpu), `${what}: gpu ${gpu}, cpu ${cpu}`);
  if (Number.isFinite(cpu)) {
    assert.ok(Math.abs(gpu - cpu) <= 1e-4 * (1 + Math.abs(cpu)), `${what}: gpu ${gpu}, cpu ${cpu}`);
  }
}

gpuTest(
  "a NaN or +∞ logit gives a NaN loss on WebGPU as on the CPU; −∞ and large logits agree too",
  async () => {
    const rt = await runtime();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 2, max: 12 }),
        fc.nat(),
        fc.constantFrom(NaN, Infinity, -Infinity, 3e38, -3e38, 80),
        fc.nat(),
        async (n, k, at, bad, seed) => {
          const logits = input("logits", [n, k]);
          const labels = input("labels", [n], "i32");
          const g = graph(softmaxCrossEntropy(logits, labels));
          const next = rng(seed);
          const x = Float32Array.from({ length: n * k }, () => 4 * next() - 2);
          x[at % (n * k)] = bad;
          const y = Int32Array.from({ length: n }, () => Math.floor(next() * k));
          const feeds = { inputs: { logits: x, labels: y }, params: new Map() };
          const [gpu] = await runGraph(rt, g, feeds);
          const [cpu] = executeCpu(g, feeds);
          if (Number.isNaN(bad) || bad === Infinity) {
            assert.ok(
              Number.isNaN(gpu[0]),
              `gpu ${gpu[0]}`,
            );
          }
          sameLoss(gpu[0], cpu[0], `logit ${bad} at ${at % (n * k)} of [${n}, ${k}]`);
        },
      ),
      { numRuns: 40 },
    );
  },
);

/** A two-layer classifier's training graph. */
function mlp(n: number) {
  const x = input("x", [n, 12]);
  const labels = input("labels", [n], "i32");
  const h = relu(linear(x, param("l1.w", [16, 12]), param("l1.b", [16])));
  return grad(softmaxCrossEntropy(linear(h, param("fc.w", [5, 16]), param("fc.b", [5])), labels));
}

function mlpFeeds(n: number, seed: number) {
  const next = rng(seed);
  return {
    x: Float32Array.from({ length: n * 12 }, () => 2 * next() - 1),
    labels: Int32Array.from({ length: n }, () => Math.floor(next() * 5)),
  };
}

gpuTest(
  "a NaN weight that reaches the logits gives a NaN loss on WebGPU as on the CPU",
  async () => {
    const rt = await runtime();
    const g = mlp(8);
    const inputs = mlpFeeds(8, 1);
    for (const [name, at] of [["fc.w", 17], ["fc.b", 2], ["l1.b", 3]] as const) {
      const params = initParams(g.graph, 2);
      const clean = await runGraph(rt, g.graph, { inputs, params });
      assert.ok(Number.isFinite(clean[0][0]));
      const poisoned: ParamStore = new Map(params);
      const w = params.get(name)!.slice();
      w[at] = NaN;
      poisoned.set(name, w);
      const [gpu] = await runGraph(rt, g.graph, { inputs, params: poisoned });
      const [cpu] = executeCpu(g.graph, { inputs, params: poisoned });
      sameLoss(gpu[0], cpu[0], `NaN in ${name}[${at}]`);
      if (name !== "l1.b") assert.ok(Number.isNaN(gpu[0]), `NaN in ${name}: gpu loss ${gpu[0]}`);
    }
  },
);

gpuTest(
  "a device destroyed mid-step rejects with DeviceLostError; host parameters survive and a new runtime continues",
  async () => {
    const g = mlp(32);
    const inputs = mlpFeeds(32, 3);
    const params = initParams(g.graph, 4);
    const names = [...g.grads.keys()].map((p) => String(p.attrs.name));
    const first = g.graph.outputs.length - names.length;
    /** One SGD step on the host arrays, from `rt`'s gradients; returns the loss. */
    const step = async (rt: WebGpuRuntime) => {
      const out = await runGraph(rt, g.graph, { inputs, params });
      names.forEach((name, k) => {
        const d = out[first + k] as Float32Array;
        params.set(name, params.get(name)!.map((v, j) => v - 0.1 * d[j]));
      });
      return out[0][0];
    };
    const rt = await createWebGpuRuntime();
    const losses = [await step(rt), await step(rt)];
    const before = new Map([...params].map(([k, v]) => [k, v.slice()]));
    const inFlight = step(rt);
    rt.device.destroy();
    await assert.rejects(inFlight, DeviceLostError);
    await assert.rejects(step(rt), DeviceLostError);
    assert.deepEqual(params, before, "host parameters changed");
    // Continue: a new runtime from the same host parameters takes the step that was lost.
    const again = await createWebGpuRuntime();
    const cpu = executeCpu(g.graph, { inputs, params });
    losses.push(await step(again));
    sameLoss(losses[2], cpu[0][0], "the step after the device loss");
    assert.ok(losses[2] < losses[0], `loss ${losses} does not fall`);
    again.destroy();
  },
);
