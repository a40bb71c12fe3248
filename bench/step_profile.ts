/**
 * Where a training step's GPU time goes: runs a method's ResNet-20 training
 * step (batch 32, 32×32, 10 classes) a few times on WebGPU with per-op
 * timestamp queries and prints the milliseconds per step of each op.
 *
 * XDG_RUNTIME_DIR=/tmp deno run -A bench/step_profile.ts [--method da3] [--steps 3]
 * @module
 */
import { parseArgs } from "node:util";
import type { MethodName } from "../lib/adapt/mod.ts";
import { METHOD_NAMES } from "../lib/train/config.ts";
import { createWebGpuRuntime, totalsByOp } from "../lib/runtime/webgpu/mod.ts";
import { planGraph } from "../mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import { methodGraphs } from "../lib/train/domain.ts";

const { values } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args],
  options: {
    method: { type: "string", default: "da3" },
    steps: { type: "string", default: "3" },
  },
});
const method = values.method as MethodName;
if (!METHOD_NAMES.includes(method)) {
  throw new Error(`--method: ${method} is not one of ${METHOD_NAMES.join(", ")}`);
}
const steps = Number(values.steps);
const batch = 32;
const g = methodGraphs(method, 10, batch);
const runtime = await createWebGpuRuntime({ profile: true });
const params = initParams(g.train.graph, 1);
const x = Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
const plan = planGraph(g.train, runtime.target);
await runtime.execute(plan, { inputs: { x, labels }, params });
runtime.resetProfile();
for (let i = 0; i < steps; i++) {
  await runtime.execute(plan, { inputs: { x, labels }, params });
}
const ops = totalsByOp(runtime.profile());
const total = ops.reduce((s, o) => s + o.ms, 0) / steps;
console.log(`${method}: ${total.toFixed(0)} GPU ms per step (ops in separate passes)`);
for (const o of ops) {
  console.log(`  ${o.op.padEnd(24)} ${(o.ms / steps).toFixed(1).padStart(7)} ms`);
}
runtime.destroy();
