/**
 * The op records' `perSample` facts, checked against the CPU reference: every
 * node of a training graph whose record says it is per sample, run in batch
 * slices (`batchSplit`), gives exactly the slices of its whole-batch value.
 */
import assert from "node:assert/strict";
import {
  add,
  avgPool2d,
  batchNorm,
  binarize,
  channelMean,
  conv2d,
  flatten,
  globalAvgPool,
  graph,
  input,
  isPerSample,
  linear,
  maxPool2d,
  mul,
  param,
  relu,
  scale,
  sigmoid,
  softmaxCrossEntropy,
  type Tensor,
  upsampleNearest,
} from "../lib/graph/mod.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import { batchSplit, sliceRange } from "../lib/runtime/webgpu/batch_split.ts";

const N = 4;

/** A small CNN touching every per-sample op family, with batch- and eval-mode norms. */
function trainingGraph() {
  const x = input("x", [N, 3, 8, 8]);
  const labels = input("labels", [N], "i32");
  const bn = (p: string, c: number, trainable: boolean) => ({
    gamma: param(`${p}.g`, [c], { trainable, init: "ones" }),
    beta: param(`${p}.b`, [c], { trainable }),
    mean: param(`${p}.m`, [c], { trainable: false }),
    variance: param(`${p}.v`, [c], { trainable: false, init: "ones" }),
  });
  const h1 = relu(
    batchNorm(conv2d(x, param("w1", [8, 3, 3, 3]), { padding: 1 }), bn("bn1", 8, true), {
      mode: "batch",
    }),
  );
  const c2 = conv2d(h1, param("w2", [8, 4, 3, 3]), { padding: 1, groups: 2 });
  const h2 = batchNorm(c2, bn("bn2", 8, false), { mode: "eval" });
  const gate = sigmoid(channelMean(h2));
  const m = mul(mul(h2, gate), binarize(gate, 0.5));
  const a = add(m, scale(upsampleNearest(avgPool2d(m, { kernel: 2 }), 2), 0.5));
  const p = maxPool2d(a, { kernel: 2 });
  const logits = add(
    linear(flatten(p), param("fc.w", [10, 128]), param("fc.b", [10])),
    linear(globalAvgPool(p), param("fc2.w", [10, 8])),
  );
  return { loss: softmaxCrossEntropy(logits, labels), x, labels };
}

function slice(v: TensorData, offset: number, bytes: number): TensorData {
  const C = v.constructor as new (b: ArrayBufferLike, o: number, n: number) => TensorData;
  const per = (v as Float32Array).BYTES_PER_ELEMENT;
  return new C(v.buffer, v.byteOffset + offset, bytes / per);
}

Deno.test("every per-sample node of a training graph, run in batch slices, gives its whole-batch value", () => {
  const { loss } = trainingGraph();
  // Unfused, the pooled gradients are broadcast at full size: broadcastTo is checked too.
  const g = grad(loss, { fuseBroadcasts: false });
  const next = rng(7);
  const inputs: Record<string, TensorData> = {
    x: Float32Array.from({ length: N * 3 * 64 }, () => next() * 2 - 1),
    labels: Int32Array.from({ length: N }, (_, i) => (i * 3) % 10),
  };
  const params = initParams(g.graph, 3);
  const checked = new Set<string>();
  for (const n of g.graph.nodes) {
    if (n.inputs.length === 0 || !isPerSample(n)) continue;
    const split = batchSplit(n, Number.MAX_SAFE_INTEGER, 4);
    if (!split) continue;
    const batched = n.inputs.filter((_, i) => split.sliced[i]);
    const [whole, ...args] = executeCpu(graph(n, ...batched), { inputs, params });
    for (let k = 0; k < split.parts; k++) {
      const sliceInputs: Record<string, TensorData> = { ...inputs };
      let j = 0;
      n.inputs.forEach((v: Tensor, i) => {
        if (!split.sliced[i]) return;
        const r = sliceRange(v, split.batch, k);
        sliceInputs[`slice${i}`] = slice(args[j++], r.offset, r.size);
      });
      const [part] = executeCpu(graph(split.proxy), { inputs: sliceInputs, params });
      const r = sliceRange(n, split.batch, k);
      assert.deepEqual(part, slice(whole, r.offset, r.size), `${n.op} slice ${k}`);
    }
    checked.add(n.op);
  }
  const expected = [
    "conv2d",
    "conv2dGradInput",
    "relu",
    "reluMask",
    "reluGrad",
    "batchNorm",
    "batchNormGradInput",
    "sigmoid",
    "sigmoidGrad",
    "mul",
    "add",
    "scale",
    "binarize",
    "channelMean",
    "avgPool2d",
    "avgPool2dGrad",
    "upsampleNearest",
    "upsampleNearestGrad",
    "maxPool2d",
    "maxPool2dIndices",
    "maxPool2dGrad",
    "globalAvgPool",
    "reshape",
    "broadcastTo",
  ];
  assert.deepEqual(expected.filter((op) => !checked.has(op)), []);
});
