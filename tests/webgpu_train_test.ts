/**
 * A whole training step of a small CNN (conv, batch norm in batch and eval
 * mode, relu, max and average pooling, global average pooling, linear,
 * softmax cross-entropy) gives the same loss and gradients on WebGPU as on
 * the CPU reference (|gpu − cpu| ≤ 1e-4·(1 + |cpu|)), and repeated steps with
 * updated parameters stay in agreement; values beyond the binding limit run
 * in batch slices. Needs a WebGPU adapter.
 */
import assert from "node:assert/strict";
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  globalAvgPool,
  graph,
  input,
  linear,
  maxPool2d,
  mean,
  param,
  relu,
  reshape,
  softmaxCrossEntropy,
  type Tensor,
} from "../lib/graph/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { createWebGpuRuntime, type WebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { selectRuntime } from "../lib/runtime/select.ts";
import { LimitError } from "../lib/runtime/webgpu/errors.ts";
import { planGraph } from "../lib/plan/plan.ts";
import { runGraph } from "../lib/runtime/run_graph.ts";

function bn(x: Tensor, name: string, c: number, mode: "eval" | "batch", trainable: boolean) {
  return batchNorm(x, {
    gamma: param(`${name}.gamma`, [c], { init: "ones", trainable }),
    beta: param(`${name}.beta`, [c], { init: "zeros", trainable }),
    mean: param(`${name}.mean`, [c], { init: { uniform: [-0.1, 0.1] }, trainable: false }),
    variance: param(`${name}.var`, [c], { init: { uniform: [0.5, 1.5] }, trainable: false }),
  }, { mode });
}

/** A small CNN: a frozen first conv, then trainable conv/BN, pooling and a linear head. */
function smallCnn(n: number, classes: number) {
  const x = input("x", [n, 3, 12, 12]);
  const labels = input("labels", [n], "i32");
  const c1 = conv2d(x, param("c1.w", [8, 3, 3, 3], { trainable: false }), { padding: 1 });
  const h1 = maxPool2d(relu(bn(c1, "bn1", 8, "eval", false)), { kernel: 2 });
  const c2 = conv2d(h1, param("c2.w", [8, 4, 3, 3]), { stride: 1, padding: 1, groups: 2 });
  const h2 = avgPool2d(relu(bn(c2, "bn2", 8, "batch", true)), { kernel: 3, stride: 2, padding: 1 });
  const c3 = conv2d(h2, param("c3.w", [16, 8, 3, 3]), { stride: 2, padding: 1 });
  const h3 = relu(bn(c3, "bn3", 16, "eval", true));
  const logits = linear(globalAvgPool(h3), param("fc.w", [classes, 16]), param("fc.b", [classes]));
  return grad(softmaxCrossEntropy(logits, labels));
}

function close(gpu: TensorData, cpu: TensorData, what: string): void {
  assert.equal(gpu.length, cpu.length, what);
  for (let j = 0; j < cpu.length; j++) {
    if (!(Math.abs(gpu[j] - cpu[j]) <= 1e-4 * (1 + Math.abs(cpu[j])))) {
      assert.fail(`${what}[${j}]: gpu ${gpu[j]} vs cpu ${cpu[j]}`);
    }
  }
}

Deno.test({
  name: "small CNN training step: same loss and gradients on WebGPU and CPU, over 3 SGD steps",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const n = 6, classes = 5;
    const g = smallCnn(n, classes);
    const next = rng(3);
    const inputs = {
      x: Float32Array.from({ length: n * 3 * 144 }, () => 2 * next() - 1),
      labels: Int32Array.from({ length: n }, () => Math.floor(next() * classes)),
    };
    const params = initParams(g.graph, 5);
    const rt = await createWebGpuRuntime();
    const plan = planGraph(g, rt.target);
    const trainable = [...g.grads.keys()].map((p) => String(p.attrs.name));
    assert.ok(trainable.includes("c2.w") && !trainable.includes("c1.w"));
    for (let step = 0; step < 3; step++) {
      const gpu = await rt.execute(plan, { inputs, params });
      const cpu = executeCpu(g.graph, { inputs, params });
      assert.ok(Number.isFinite(cpu[0][0]) && cpu[0][0] > 0);
      g.graph.outputs.forEach((o, i) => {
        close(gpu[i], cpu[i], `step ${step} output ${i} (${o.op})`);
      });
      // SGD on the host arrays (a new array per parameter, as an optimizer may produce).
      [...g.grads.keys()].forEach((p, k) => {
        const name = String(p.attrs.name);
        const d = cpu[g.graph.outputs.length - g.grads.size + k] as Float32Array;
        params.set(name, params.get(name)!.map((v, j) => v - 0.5 * d[j]));
      });
    }
    rt.destroy();
  },
});

Deno.test({
  name: "selectRuntime: cpu is the reference, webgpu and auto give a WebGPU runtime here",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.equal((await selectRuntime("cpu")).name, "cpu");
    const gpu = await selectRuntime("webgpu") as WebGpuRuntime;
    const auto = await selectRuntime("auto") as WebGpuRuntime;
    assert.equal(gpu.name, "webgpu");
    assert.equal(auto.name, "webgpu");
    gpu.destroy();
    auto.destroy();
  },
});

Deno.test({
  name:
    "a vec4 matmul followed by an add of a 1-element parameter runs in one pass (DA³ r=16 on 16 channels)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const x = input("x", [32, 16]);
    const h = relu(linear(x, param("w1", [1, 16]), param("b1", [1], { init: { constant: 0.5 } })));
    const y = linear(h, param("w2", [16, 1]), param("b2", [16]));
    const g = graph(y);
    const params = initParams(g, 1);
    const xs = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const rt = await createWebGpuRuntime();
    const [gpu] = await runGraph(rt, g, { inputs: { x: xs }, params });
    const [cpu] = executeCpu(g, { inputs: { x: xs }, params });
    gpu.forEach((v, i) => assert.ok(Math.abs(v - cpu[i]) <= 1e-4 * (1 + Math.abs(cpu[i]))));
    rt.destroy();
  },
});

/** A frozen conv stack with a trainable head: backward runs input gradients through every conv. */
function frozenStack(n: number) {
  const x = input("x", [n, 3, 16, 16]);
  const labels = input("labels", [n], "i32");
  const c1 = conv2d(x, param("c1.w", [8, 3, 3, 3], { trainable: false }), { padding: 1 });
  const h1 = relu(bn(c1, "bn1", 8, "eval", false));
  const c2 = conv2d(h1, param("c2.w", [8, 8, 3, 3], { trainable: false }), { padding: 1 });
  // A DA³-style attention: a per-sample [n, 8, 1, 1] term from gap(h1), added before the ReLU.
  const a = reshape(linear(globalAvgPool(h1), param("a.w", [8, 8]), param("a.b", [8])), [
    n,
    8,
    1,
    1,
  ]);
  const h2 = maxPool2d(relu(add(bn(c2, "bn2", 8, "eval", false), a)), { kernel: 2 });
  const logits = linear(globalAvgPool(h2), param("fc.w", [4, 8]), param("fc.b", [4]));
  return grad(softmaxCrossEntropy(logits, labels));
}

Deno.test({
  name: "values larger than the binding limit run in batch slices and match the CPU",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const n = 8;
    const g = frozenStack(n);
    const next = rng(4);
    const inputs = {
      x: Float32Array.from({ length: n * 3 * 256 }, () => 2 * next() - 1),
      labels: Int32Array.from({ length: n }, () => Math.floor(next() * 4)),
    };
    const params = initParams(g.graph, 2);
    // 8 channels × 16² × 4 bytes = 8,192 bytes per sample: at most 2 samples per 20,000-byte binding.
    const rt = await createWebGpuRuntime({ maxBindingBytes: 20_000 });
    const gpu = await rt.execute(planGraph(g, rt.target), { inputs, params });
    const cpu = executeCpu(g.graph, { inputs, params });
    g.graph.outputs.forEach((o, i) => close(gpu[i], cpu[i], `output ${i} (${o.op})`));
    rt.destroy();
  },
});

Deno.test({
  name: "a batch reduction over a value beyond the binding limit is a LimitError naming the op",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const x = input("x", [8, 8, 16, 16]);
    const y = conv2d(x, param("w", [8, 8, 3, 3]), { padding: 1 });
    const g = grad(mean(y));
    const rt = await createWebGpuRuntime({ maxBindingBytes: 20_000 });
    const params = initParams(g.graph, 1);
    await assert.rejects(
      () =>
        rt.execute(planGraph(g, rt.target), {
          inputs: { x: new Float32Array(8 * 8 * 256) },
          params,
        }),
      (e: unknown) =>
        e instanceof LimitError && e.message.includes("conv2dGradWeight") &&
        e.message.includes("maxStorageBufferBindingSize"),
    );
    rt.destroy();
  },
});
