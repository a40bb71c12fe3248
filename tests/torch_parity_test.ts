/**
 * Forward parity with PyTorch: da3's ResNet-18, loaded from the torchvision
 * fixture's state dict, reproduces torchvision's eval-mode logits and stage
 * outputs; the importer rejects state dicts that do not fit.
 */
import assert from "node:assert/strict";
import { da3, lastLayer } from "../lib/adapt/mod.ts";
import { graph, type Tensor } from "../lib/graph/mod.ts";
import {
  readSafetensorsFile,
  type SafetensorsTensor,
  toFloat32Array,
} from "../lib/io/safetensors.ts";
import { importTorchvision, TorchvisionImportError } from "../lib/io/torchvision.ts";
import { resnet18 } from "../lib/models/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { initParams } from "../lib/runtime/params.ts";

const DIR = new URL("./fixtures/torch/", import.meta.url);
const weights = (await readSafetensorsFile(new URL("resnet18_f16.safetensors", DIR))).tensors;
const io = (await readSafetensorsFile(new URL("resnet18_io.safetensors", DIR))).tensors;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** The ReLU that ends each stage: the last block's output. */
function stageOutputs(logits: Tensor): Tensor[] {
  const nodes = graph(logits).nodes;
  const gap = nodes.find((n) => n.op === "globalAvgPool")!;
  const pool = nodes.find((n) => n.op === "maxPool2d")!;
  const blockEnds = nodes.filter((n) => n.op === "relu" && n.inputs[0].op === "add");
  return [pool, blockEnds[1], blockEnds[3], blockEnds[5], gap.inputs[0]];
}

Deno.test("ResNet-18 with the da3 adaptor matches torchvision's logits (< 1e-3)", () => {
  const model = resnet18({ adaptor: da3().adaptor, classes: 10, batch: 2, size: 64 });
  const g = graph(model.logits);
  const imported = importTorchvision(weights, g);
  assert.ok(imported.missing.length > 0 && imported.missing.every((n) => n.includes(".da3.")));
  assert.deepEqual(imported.unused.every((k) => k.endsWith("num_batches_tracked")), true);
  assert.equal(imported.unused.length, 20);
  const store = initParams(g, 0, imported.params);
  const x = toFloat32Array(io.get("input")!);
  const [logits] = executeCpu(g, { inputs: { x }, params: store });
  const err = maxAbsDiff(logits as Float32Array, toFloat32Array(io.get("logits")!));
  assert.ok(err < 1e-3, `max abs error ${err}`);
});

Deno.test("each ResNet-18 stage output matches torchvision's", () => {
  const model = resnet18({ adaptor: lastLayer().adaptor, classes: 10, batch: 2, size: 64 });
  const stages = stageOutputs(model.logits);
  const g = graph(...stages);
  const { params } = importTorchvision(weights, graph(model.logits));
  const out = executeCpu(g, { inputs: { x: toFloat32Array(io.get("input")!) }, params });
  const names = ["stem", "layer1", "layer2", "layer3", "layer4"];
  names.forEach((name, i) => {
    const ref = toFloat32Array(io.get(`features.${name}`)!);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = maxAbsDiff(out[i] as Float32Array, ref);
    assert.ok(err <= 1e-4 * Math.max(1, scale), `${name}: max abs error ${err}`);
  });
});

Deno.test("the importer names the tensor whose shape, dtype or presence is wrong", () => {
  const g = graph(resnet18({ adaptor: lastLayer().adaptor, classes: 10, batch: 1 }).logits);
  const edit = (key: string, t?: SafetensorsTensor) => {
    const m = new Map(weights);
    if (t) m.set(key, t);
    else m.delete(key);
    return m;
  };
  const cases: [Map<string, SafetensorsTensor>, string, string][] = [
    [
      edit("layer2.0.conv1.weight", {
        ...weights.get("layer2.0.conv1.weight")!,
        shape: [128, 64, 9, 1],
      }),
      "layer2.0.conv1.weight",
      "shape",
    ],
    [edit("bn1.running_var"), "bn1.running_var", "missing"],
    [
      edit("fc.bias", { dtype: "I64", shape: [10], data: new BigInt64Array(10) }),
      "fc.bias",
      "dtype",
    ],
  ];
  for (const [dict, tensor, issue] of cases) {
    assert.throws(() => importTorchvision(dict, g), (e: unknown) => {
      assert.ok(e instanceof TorchvisionImportError);
      assert.equal(e.tensor, tensor);
      assert.equal(e.issue, issue);
      assert.match(e.message, new RegExp(tensor.replaceAll(".", "\\.")));
      return true;
    });
  }
  // A 100-class head is left new; with `load` its shape mismatch is reported.
  const g100 = graph(resnet18({ adaptor: lastLayer().adaptor, classes: 100, batch: 1 }).logits);
  assert.deepEqual(importTorchvision(weights, g100, { head: "new" }).missing, [
    "fc.weight",
    "fc.bias",
  ]);
  assert.throws(() => importTorchvision(weights, g100), TorchvisionImportError);
});
