/**
 * The WebGPU runtime executes the plan it is given: the one arena buffer it
 * creates has exactly the plan's `arenaBytes`, the other value buffers are
 * the plan's persistent values (trainable gradients), and the outputs match
 * the unplanned CPU interpreter. Needs a WebGPU adapter.
 */
import assert from "node:assert/strict";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { add, graph, input, mean, scale, sigmoid } from "../lib/graph/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { CPU_TARGET, type Plan, planGraph } from "../lib/plan/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { PlanError, type TensorData } from "../lib/runtime/data.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { randomFeeds } from "./plan_dags.ts";

/** A buffer the runtime asked the device for. */
interface Created {
  readonly label: string;
  readonly size: number;
  readonly usage: number;
}

/** `device` with `createBuffer` recorded into `log`; everything else passes through. */
function recording(device: GPUDevice, log: Created[]): GPUDevice {
  return new Proxy(device, {
    get(target, key) {
      if (key === "createBuffer") {
        return (d: GPUBufferDescriptor) => {
          log.push({ label: d.label ?? "", size: d.size, usage: d.usage });
          return target.createBuffer(d);
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function close(a: TensorData, b: TensorData, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])))) {
      assert.fail(`${what}[${i}]: gpu ${a[i]} vs cpu ${b[i]}`);
    }
  }
}

/** Bytes a value binds on the device: whole `u32` words, at least one. */
const words = (bytes: number) => Math.max(4, Math.ceil(bytes / 4) * 4);

/** The storage buffers created for values: the arena and one per persistent value. */
function valueBuffers(log: readonly Created[]): Created[] {
  const other = /^(param |da3 scratch|da3 readback|da3 upload)/;
  return log.filter((b) => (b.usage & GPUBufferUsage.STORAGE) !== 0 && !other.test(b.label));
}

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

const CASES: [MethodName, boolean][] = [
  ["finetune", false],
  ["da3", false],
  ["lastlayer", false],
  ["da3", true],
];
for (const [method, fuseConvBn] of CASES) {
  gpuTest(
    `ResNet-20 (${method}${
      fuseConvBn ? ", conv→BN fused" : ""
    }) on WebGPU: value buffers are the plan's arena and gradients`,
    async () => {
      const log: Created[] = [];
      const { device } = await requestDevice();
      const rt = await createWebGpuRuntime({ device: recording(device, log) });
      const g = grad(
        classificationLoss(
          resnet20({ adaptor: METHODS[method]().adaptor, batch: 2, size: 8, classes: 3 }),
        ),
        { fuseConvBn },
      );
      const plan: Plan = planGraph(g, rt.target);
      const feeds = randomFeeds(g.graph, 3);
      if (fuseConvBn) {
        // Batch norms and adaptors away from identity and zero, so the fused epilogue shows.
        let k = 0;
        for (const [name, v] of feeds.params) {
          if (!(v instanceof Float32Array)) continue;
          const variance = name.endsWith("running_var");
          v.forEach((_, i) => (v[i] = variance ? 0.5 + (k++ % 7) / 7 : Math.sin(k++) / 2));
        }
      }
      const gpu = await rt.execute(plan, feeds);
      const values = valueBuffers(log);
      const arenas = values.filter((b) => b.label === "da3 arena");
      assert.deepEqual(arenas.map((b) => b.size), [plan.arenaBytes]);
      const persistent = plan.values.filter((v) => v.offset === null && v.category !== "weight");
      assert.ok(persistent.length > 0 && persistent.every((v) => v.category === "gradient"));
      assert.deepEqual(
        values.filter((b) => b.label !== "da3 arena").map((b) => b.size).sort(),
        persistent.map((v) => words(v.bytes)).sort(),
        "one buffer per persistent value, of its size",
      );
      const total = values.reduce((s, b) => s + b.size, 0);
      assert.equal(total, plan.arenaBytes + persistent.reduce((s, v) => s + words(v.bytes), 0));
      const cpu = executeCpu(g.graph, feeds);
      cpu.forEach((c, i) => close(gpu[i], c, `output ${i} (${plan.values[plan.outputs[i]].name})`));
      // A second execution reuses the prepared buffers.
      const before = log.length;
      const again = await rt.execute(plan, feeds);
      assert.equal(log.filter((b, i) => i >= before && b.label === "da3 arena").length, 0);
      cpu.forEach((c, i) => close(again[i], c, `second run, output ${i}`));
      rt.destroy();
    },
  );
}

gpuTest("an input whose bytes an earlier step uses is copied in at its own step", async () => {
  const log: Created[] = [];
  const { device } = await requestDevice();
  const rt = await createWebGpuRuntime({ device: recording(device, log) });
  // y is scheduled after sigmoid(x) has died, in its bytes.
  const x = input("x", [64]), y = input("y", [64]);
  const g = graph(add(y, mean(sigmoid(scale(x, 2)))));
  const plan = planGraph(g, rt.target);
  const yv = plan.values.find((v) => v.name === "y")!;
  const reused = plan.values.some((u) =>
    u.offset !== null && u.firstWrite < yv.firstWrite && u.offset < yv.offset! + yv.bytes &&
    yv.offset! < u.offset + u.bytes
  );
  assert.ok(reused, "y's bytes are used before y's step in this plan");
  const feeds = randomFeeds(g, 9);
  const [gpu] = await rt.execute(plan, feeds);
  assert.deepEqual(log.filter((b) => b.label === "da3 upload").map((b) => b.size), [yv.bytes]);
  close(gpu, executeCpu(g, feeds)[0], "add(y, …)");
  rt.destroy();
});

gpuTest("a plan made for another target is a PlanError naming the fix", async () => {
  const rt = await createWebGpuRuntime();
  const g = grad(classificationLoss(
    resnet20({ adaptor: METHODS.lastlayer().adaptor, batch: 2, size: 8, classes: 3 }),
  ));
  const feeds = randomFeeds(g.graph, 1);
  await assert.rejects(
    rt.execute(planGraph(g, CPU_TARGET), feeds),
    (e: unknown) => e instanceof PlanError && /runtime\.target/.test(e.message),
  );
  const odd = { ...rt.target, alignment: 4 };
  await assert.rejects(rt.execute(planGraph(g, odd), feeds), PlanError);
  rt.destroy();
});
