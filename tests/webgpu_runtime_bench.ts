/**
 * ms per training step of a ResNet-20-like gradient graph (CIFAR shapes:
 * batch 32, 3×32×32, eval-mode batch norm, frozen backbone, trainable linear
 * head) on the WebGPU runtime vs the CPU reference runtime, in one run; and
 * the training steps of fine-tuning and DA³ (da3's ResNet-20 models) on
 * WebGPU, side by side (the DA³ target is ≤ 0.5× fine-tuning); and their
 * Adam training steps on WebGPU with the host optimizer (every gradient read
 * back, every parameter uploaded again) against the optimizer on the device
 * (update ops in the plan), in one run.
 *
 * `deno bench -A tests/webgpu_runtime_bench.ts` (needs a WebGPU adapter).
 */
import {
  add,
  batchNorm,
  conv2d,
  globalAvgPool,
  input,
  linear,
  OPTIMIZER_STEP_INPUT,
  optimizerStepValues,
  param,
  relu,
  softmaxCrossEntropy,
  type Tensor,
} from "../lib/graph/mod.ts";
import { grad, withOptimizer } from "../lib/autodiff/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { initOptimizer, optimizerStep } from "../lib/train/optimizer.ts";
import { gradientsOf } from "../lib/train/step.ts";
import { cpuRuntime } from "../lib/runtime/cpu/mod.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { planGraph } from "../lib/plan/plan.ts";
import { methodGraphs } from "../lib/train/domain.ts";

let frozen = { trainable: false };

function convBn(x: Tensor, name: string, cin: number, cout: number, k: number, stride: number) {
  const w = param(`${name}.w`, [cout, cin, k, k], frozen);
  const y = conv2d(x, w, { stride, padding: (k - 1) / 2 });
  return batchNorm(y, {
    gamma: param(`${name}.bn.gamma`, [cout], { ...frozen, init: "ones" }),
    beta: param(`${name}.bn.beta`, [cout], frozen),
    mean: param(`${name}.bn.mean`, [cout], frozen),
    variance: param(`${name}.bn.var`, [cout], { ...frozen, init: "ones" }),
  });
}

function block(x: Tensor, name: string, cin: number, cout: number, stride: number): Tensor {
  const h = relu(convBn(x, `${name}.a`, cin, cout, 3, stride));
  const y = convBn(h, `${name}.b`, cout, cout, 3, 1);
  const skip = stride === 1 && cin === cout ? x : convBn(x, `${name}.proj`, cin, cout, 1, stride);
  return relu(add(y, skip));
}

/**
 * ResNet-20 (3 stages × 3 basic blocks, 16/32/64 channels) with a trainable
 * 10-class head; `fineTune` makes every conv and BN affine trainable too.
 */
function resnet20(batch: number, fineTune: boolean) {
  frozen = { trainable: fineTune };
  const x = input("x", [batch, 3, 32, 32]);
  let h = relu(convBn(x, "stem", 3, 16, 3, 1));
  let cin = 16;
  [16, 32, 64].forEach((c, s) => {
    for (let b = 0; b < 3; b++) {
      h = block(h, `s${s}.b${b}`, cin, c, b === 0 && s > 0 ? 2 : 1);
      cin = c;
    }
  });
  const logits = linear(globalAvgPool(h), param("fc.w", [10, 64]), param("fc.b", [10]));
  return grad(softmaxCrossEntropy(logits, input("labels", [batch], "i32")));
}

const batch = 32;
const head = resnet20(batch, false);
const tuned = resnet20(batch, true);
const ft = tuned.graph;
const next = rng(1);
const feeds = {
  inputs: {
    x: Float32Array.from({ length: batch * 3 * 32 * 32 }, () => 2 * next() - 1),
    labels: Int32Array.from({ length: batch }, () => Math.floor(next() * 10)),
  },
  params: initParams(ft, 0),
};
const gpu = await createWebGpuRuntime();
const [g, gGpu] = [planGraph(head, cpuRuntime.target), planGraph(head, gpu.target)];
const [ftCpu, ftGpu] = [planGraph(tuned, cpuRuntime.target), planGraph(tuned, gpu.target)];
await gpu.prepare(gGpu);
await gpu.execute(gGpu, feeds);
await gpu.prepare(ftGpu);
await gpu.execute(ftGpu, feeds);

Deno.bench({
  name: "resnet20 head-only step, batch 32: cpu",
  group: "resnet20-step",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: async () => {
    await cpuRuntime.execute(g, feeds);
  },
});

Deno.bench({
  name: "resnet20 head-only step, batch 32: webgpu",
  group: "resnet20-step",
  n: 5,
  warmup: 1,
  fn: async () => {
    await gpu.execute(gGpu, feeds);
  },
});

Deno.bench({
  name: "resnet20 fine-tune step, batch 32: cpu",
  group: "resnet20-finetune-step",
  baseline: true,
  n: 2,
  warmup: 0,
  fn: async () => {
    await cpuRuntime.execute(ftCpu, feeds);
  },
});

Deno.bench({
  name: "resnet20 fine-tune step, batch 32: webgpu",
  group: "resnet20-finetune-step",
  n: 2,
  warmup: 0,
  fn: async () => {
    await gpu.execute(ftGpu, feeds);
  },
});

for (const method of ["finetune", "da3"] as const) {
  const train = methodGraphs(method, 10, batch).train;
  const step = planGraph(train, gpu.target);
  const stepFeeds = { inputs: feeds.inputs, params: initParams(train.graph, 0) };
  await gpu.execute(step, stepFeeds);
  Deno.bench({
    name: `resnet20 ${method} training step, batch 32: webgpu`,
    group: "method-step",
    baseline: method === "finetune",
    n: 5,
    warmup: 1,
    fn: async () => {
      await gpu.execute(step, stepFeeds);
    },
  });
}

// The optimizer step before and after it moved onto the device, in one run:
// before, every gradient is read back, Adam runs on the host and every
// trainable parameter is uploaded again; after, the plan's update ops apply
// Adam in place on the device and only the loss and logits are read back.
for (const method of ["finetune", "da3"] as const) {
  const graphs = methodGraphs(method, 10, batch);
  const config = { kind: "adam" } as const;
  const lr = (name: string) => 1e-3 * graphs.lrScale(name);
  const hostPlan = planGraph(graphs.train, gpu.target);
  const device = withOptimizer(graphs.train, config, lr);
  const devicePlan = planGraph(device, gpu.target);
  let hostParams: ParamStore = initParams(graphs.train.graph, 0);
  let state = initOptimizer(config);
  const deviceParams = initParams(device.graph, 0);
  let t = 0;
  const hostStep = async () => {
    const out = await gpu.execute(hostPlan, { inputs: feeds.inputs, params: hostParams });
    ({ params: hostParams, state } = optimizerStep(
      state,
      hostParams,
      gradientsOf(graphs.train, out),
      lr,
    ));
  };
  const deviceStep = async () => {
    const inputs = { ...feeds.inputs, [OPTIMIZER_STEP_INPUT]: optimizerStepValues(config, ++t) };
    await gpu.execute(devicePlan, { inputs, params: deviceParams });
  };
  await hostStep();
  await deviceStep();
  Deno.bench({
    name: `resnet20 ${method} Adam step, batch 32, webgpu: host optimizer (before)`,
    group: `${method}-optimizer`,
    baseline: true,
    n: 5,
    warmup: 1,
    fn: hostStep,
  });
  Deno.bench({
    name: `resnet20 ${method} Adam step, batch 32, webgpu: device optimizer (after)`,
    group: `${method}-optimizer`,
    n: 5,
    warmup: 1,
    fn: deviceStep,
  });
}
