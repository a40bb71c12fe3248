/**
 * The plan is what runs: for the DA³ and fine-tuning ResNet-20 training
 * steps (batch 32, 32×32, 10 classes) prints the planned arena, the bytes
 * the unplanned interpreter (`executeCpu`, graph order, values freed after
 * their last use) holds at its peak, and what each runtime allocates for
 * values while running one step: the CPU runtime's arena `ArrayBuffer` and
 * gradient arrays, and (with `--webgpu`) the sizes of the GPU buffers the
 * WebGPU runtime creates, read through a wrapped device. MB = 10^6 bytes.
 *
 * XDG_RUNTIME_DIR=/tmp deno run -A bench/plan_bytes.ts [--webgpu]
 * @module
 */
import { byteSize, type Graph, type Tensor } from "../lib/graph/mod.ts";
import { planGraph } from "../lib/plan/mod.ts";
import { cpuRuntime } from "../lib/runtime/cpu/runtime.ts";
import { initParams } from "../lib/runtime/params.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { methodGraphs } from "../lib/train/domain.ts";

const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;

/** Peak bytes of non-parameter values the unplanned interpreter holds, in graph order. */
function interpreterPeak(g: Graph): number {
  const last = new Map<Tensor, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((x) => last.set(x, i)));
  const keep = new Set(g.outputs);
  const alive = new Set<Tensor>();
  let live = 0, peak = 0;
  g.nodes.forEach((n, i) => {
    if (n.op !== "param") {
      live += byteSize(n.shape, n.dtype);
      alive.add(n);
    }
    peak = Math.max(peak, live);
    for (const x of new Set(n.inputs)) {
      if (last.get(x) === i && !keep.has(x) && alive.delete(x)) live -= byteSize(x.shape, x.dtype);
    }
  });
  return peak;
}

/** `device` with every `createBuffer` recorded in `log`. */
function recording(device: GPUDevice, log: { label: string; size: number }[]): GPUDevice {
  return new Proxy(device, {
    get(target, key) {
      if (key === "createBuffer") {
        return (d: GPUBufferDescriptor) => {
          log.push({ label: d.label ?? "", size: d.size });
          return target.createBuffer(d);
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const batch = 32;
for (const method of ["da3", "finetune"] as const) {
  const g = methodGraphs(method, 10, batch);
  const plan = planGraph(g.train, cpuRuntime.target, { optimizer: "sgd" });
  const feeds = {
    inputs: {
      x: Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)),
      labels: Int32Array.from({ length: batch }, (_, i) => i % 10),
    },
    params: initParams(g.train.graph, 1),
  };
  console.log(
    `${method}: planned arena ${mb(plan.arenaBytes)} (lower bound ${mb(plan.lowerBoundBytes)}), ` +
      `gradients ${mb(plan.gradientBytes)}; unplanned interpreter peak ${
        mb(interpreterPeak(g.train.graph))
      }`,
  );
  const out = await cpuRuntime.execute(plan, feeds);
  const { arena } = cpuRuntime.prepared(plan);
  const gradients = plan.outputs.reduce(
    (s, v, k) => plan.values[v].category === "gradient" ? s + out[k].byteLength : s,
    0,
  );
  console.log(`  cpu: arena ArrayBuffer ${mb(arena.byteLength)}, gradient arrays ${mb(gradients)}`);
  cpuRuntime.release(plan);
  if (!Deno.args.includes("--webgpu")) continue;
  const log: { label: string; size: number }[] = [];
  const rt = await createWebGpuRuntime({ device: recording((await requestDevice()).device, log) });
  await rt.execute(planGraph(g.train, rt.target, { optimizer: "sgd" }), feeds);
  const sum = (pick: (label: string) => boolean) =>
    log.filter((b) => pick(b.label)).reduce((s, b) => s + b.size, 0);
  const named = (label: string) => mb(sum((l) => l === label));
  console.log(
    `  webgpu: arena buffer ${named("da3 arena")}, gradient buffers ${
      mb(sum((l) => !/^(param |da3 )/.test(l)))
    }; besides values: parameters ${mb(sum((l) => l.startsWith("param ")))}, scratch ${
      named("da3 scratch")
    }, input upload ${named("da3 upload")}, readback ${named("da3 readback")}`,
  );
  rt.destroy();
}
