/**
 * ms per MobileNetV2 training step (the whole network to `Conv_1`, global
 * average pool, a 9-class dense head; 64² batch 32 and 224² batch 8, fp32)
 * in one run: da3's fine-tuning and DA³ steps (forward, backward, gradients
 * read back) on the WebGPU and CPU runtimes, beside TF.js 4.22 fine-tuning
 * the same network (the nsfwjs model from its npm tarball, as
 * `scripts/tfjs_oracle.ts` loads it, with its head replaced by the dense
 * layer; `optimizer.minimize` with SGD, batch-statistics batch norms) on its
 * webgpu backend, each group's baseline, so the summary prints every ratio
 * to it. (TF.js's wasm backend loads in Deno but has no `Conv2DBackpropFilter`
 * kernel, so it cannot fine-tune a conv net; its cpu backend would take
 * minutes per step.)
 *
 * `XDG_RUNTIME_DIR=/tmp deno bench -A tests/mobilenet_bench.ts [--filter 64²]`
 * (needs a WebGPU adapter; the nsfwjs tarball is fetched once with `npm pack`).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { mobilenetV2 } from "../lib/models/mod.ts";
import { planGraph } from "../lib/plan/mod.ts";
import { cpuRuntime } from "../lib/runtime/cpu/mod.ts";
import { initParams } from "../lib/runtime/params.ts";
import type { Runtime } from "../lib/runtime/mod.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { modelGraphs } from "../lib/train/graphs.ts";
import { nsfwjsLayersModel } from "../scripts/tfjs_oracle.ts";

const CLASSES = 9;
const SIZES = [[64, 32], [224, 8]] as const;

/** One da3 training step of `method` on `runtime`, planned once. */
function da3Step(runtime: Runtime, method: MethodName, size: number, batch: number) {
  const model = mobilenetV2({ adaptor: METHODS[method]().adaptor, classes: CLASSES, batch, size });
  const g = modelGraphs(model, METHODS[method]());
  const params = initParams(g.train.graph, 1);
  const x = Float32Array.from({ length: batch * 3 * size * size }, (_, i) => Math.sin(i) / 2);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % CLASSES);
  const plan = planGraph(g.train, runtime.target);
  return () => runtime.execute(plan, { inputs: { x, labels }, params });
}

/** The nsfwjs network re-applied to `[size, size, 3]` up to `out_relu`, pooled, and a dense head. */
async function tfjsNetwork(size: number): Promise<tf.LayersModel> {
  const base = await nsfwjsLayersModel();
  const input = tf.input({ shape: [size, size, 3] });
  const values = new Map<string, tf.SymbolicTensor>([[base.inputLayers[0].name, input]]);
  for (const layer of base.layers.slice(1)) {
    const inbound = layer.inboundNodes[0].inboundLayers.map((l) => values.get(l.name)!);
    const out = layer.apply(inbound.length === 1 ? inbound[0] : inbound) as tf.SymbolicTensor;
    values.set(layer.name, out);
    if (layer.name === "out_relu") break;
  }
  const pooled = tf.layers.globalAveragePooling2d({}).apply(values.get("out_relu")!);
  const logits = tf.layers.dense({ units: CLASSES }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** One TF.js fine-tuning step (loss, gradients of every weight, SGD update) on `backend`. */
async function tfjsStep(backend: string, size: number, batch: number) {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} did not start`);
  const net = await tfjsNetwork(size);
  const x = tf.randomUniform([batch, size, size, 3], -0.5, 0.5, "float32", 1);
  const y = tf.oneHot(
    tf.tensor1d(Array.from({ length: batch }, (_, i) => i % CLASSES), "int32"),
    CLASSES,
  );
  const opt = tf.train.sgd(1e-3);
  const loss = (): tf.Scalar =>
    tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  return async () => {
    const l = opt.minimize(loss, true) as tf.Scalar;
    await l.data();
    l.dispose();
  };
}

const gpu = await createWebGpuRuntime();
const steps = new Map<string, Promise<() => Promise<unknown>>>();

/** The step of `key`, set up once (TF.js variables of an earlier network are released first). */
function once(key: string, setup: () => Promise<() => Promise<unknown>>) {
  let s = steps.get(key);
  if (!s) {
    if (key.startsWith("tfjs")) tf.disposeVariables();
    s = setup();
    steps.set(key, s);
  }
  return s;
}

for (const [size, batch] of SIZES) {
  const group = `mobilenetv2 ${size}² batch ${batch}`;
  const heavy = size === 224;
  for (const backend of ["webgpu"]) {
    Deno.bench({
      name: `${group}: TF.js ${backend} fine-tune step`,
      group,
      baseline: true,
      n: heavy ? 1 : 3,
      warmup: 1,
      async fn(b) {
        const step = await once(`tfjs ${backend} ${size}`, () => tfjsStep(backend, size, batch));
        b.start();
        await step();
        b.end();
      },
    });
  }
  for (const [name, runtime] of [["webgpu", gpu], ["cpu", cpuRuntime]] as const) {
    for (const method of ["finetune", "da3"] as const) {
      Deno.bench({
        name: `${group}: da3 ${name} ${method} step`,
        group,
        n: name === "cpu" || heavy ? 1 : 3,
        warmup: 1,
        async fn(b) {
          const step = await once(
            `${name} ${method} ${size}`,
            () => Promise.resolve(da3Step(runtime, method, size, batch)),
          );
          b.start();
          await step();
          b.end();
        },
      });
    }
  }
}
