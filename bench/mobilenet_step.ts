/**
 * A MobileNetV2 training step on WebGPU: wall milliseconds per step of each
 * method (the fastest and the mean of a few steps after a warm-up: the
 * fastest is the steadier figure on a shared machine), then, with `--profile`,
 * the per-op GPU time of one step (timestamp queries, each op in its own
 * pass) with the convolutions split by kind: depthwise (one filter per
 * channel), 1×1 (expand, project, head), and the 3-channel stem.
 *
 * XDG_RUNTIME_DIR=/tmp deno run -A bench/mobilenet_step.ts [--size 64] [--batch 32]
 *   [--cut block_10] [--methods da3,finetune] [--steps 3] [--profile]
 * @module
 */
import { parseArgs } from "node:util";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { mobilenetV2, type MobilenetV2Cut } from "../lib/models/mod.ts";
import { planGraph } from "../lib/plan/mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import { modelGraphs } from "../lib/train/graphs.ts";
import { createWebGpuRuntime, type OpProfile } from "../lib/runtime/webgpu/mod.ts";

/** The kind of a conv node's profile, from its shapes: `depthwise`, `1x1`, `stem` or `other`. */
export function convKind(p: OpProfile): string {
  // the weight is input 1 of conv2d and conv2dGradInput, the output of conv2dGradWeight.
  const w = p.op === "conv2dGradWeight" ? p.shape : p.inputs[1];
  const cin = p.op === "conv2dGradInput" ? p.shape[1] : p.inputs[0][1];
  if (cin === 3) return "stem";
  if (w[2] === 1 && w[3] === 1) return "1x1";
  if (w[1] === 1) return "depthwise";
  return "other";
}

const { values } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args],
  options: {
    size: { type: "string", default: "64" },
    batch: { type: "string", default: "32" },
    cut: { type: "string", default: "block_10" },
    methods: { type: "string", default: "da3,finetune" },
    steps: { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
  },
});
const size = Number(values.size), batch = Number(values.batch), steps = Number(values.steps);
const cut = values.cut as MobilenetV2Cut;
const runtime = await createWebGpuRuntime({ profile: values.profile });
for (const name of values.methods.split(",") as MethodName[]) {
  const model = mobilenetV2({ adaptor: METHODS[name]().adaptor, classes: 9, batch, size, cut });
  const g = modelGraphs(model, METHODS[name]());
  const params = initParams(g.train.graph, 1);
  const x = Float32Array.from({ length: batch * 3 * size * size }, (_, i) => Math.abs(Math.sin(i)));
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 9);
  const plan = planGraph(g.train, runtime.target);
  await runtime.execute(plan, { inputs: { x, labels }, params });
  runtime.resetProfile();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await runtime.execute(plan, { inputs: { x, labels }, params });
    times.push(performance.now() - t);
  }
  const mean = times.reduce((a, b) => a + b, 0) / steps;
  console.log(
    `${name} ${size}² batch ${batch} cut ${cut}: ${
      Math.min(...times).toFixed(0)
    } ms/step fastest, ${mean.toFixed(0)} mean`,
  );
  if (!values.profile) continue;
  const byKey = new Map<string, number>();
  let total = 0;
  for (const p of runtime.profile()) {
    total += p.ms / steps;
    const key = p.op.startsWith("conv2d") ? `${p.op} ${convKind(p)}` : p.op;
    byKey.set(key, (byKey.get(key) ?? 0) + p.ms / steps);
  }
  console.log(`  ${total.toFixed(0)} GPU ms per step (ops in separate passes)`);
  const rows = [...byKey].sort((a, b) => b[1] - a[1]).slice(0, 16);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v.toFixed(1).padStart(7)} ms`);
}
runtime.destroy();
