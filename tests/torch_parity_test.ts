/**
 * Forward parity with PyTorch: da3's ResNet-18, loaded from the torchvision
 * fixture's state dict, reproduces torchvision's eval-mode logits and stage
 * outputs; the importer rejects state dicts that do not fit.
 */
import assert from "node:assert/strict";
import { da3, lastLayer } from "../lib/adapt/mod.ts";
import { graph, type Tensor } from "../lib/graph/mod.ts";
import {
  encodeSafetensors,
  readSafetensorsFile,
  SafetensorsError,
  type SafetensorsTensor,
  toFloat32Array,
} from "../lib/io/safetensors.ts";
import {
  importTorchvision,
  importTorchvisionFile,
  TorchvisionImportError,
} from "../lib/io/torchvision.ts";
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

Deno.test("the importer refuses a NaN or an infinity in a weight, naming the file and tensor", () => {
  const g = graph(resnet18({ adaptor: lastLayer().adaptor, classes: 10, batch: 1 }).logits);
  const poisoned = (key: string, bits: number) => {
    const t = weights.get(key)!;
    const data = (t.data as Uint16Array).slice();
    data[3] = bits;
    return new Map(weights).set(key, { ...t, data });
  };
  for (
    const [key, bits, shown] of [["conv1.weight", 0x7e00, "NaN"], [
      "bn1.running_var",
      0x7c00,
      "Infinity",
    ]] as const
  ) {
    assert.throws(
      () => importTorchvision(poisoned(key, bits), g, { file: "w.safetensors" }),
      (e: unknown) => {
        assert.ok(e instanceof TorchvisionImportError);
        assert.equal(e.issue, "nonfinite");
        assert.equal(e.tensor, key);
        assert.equal(e.file, "w.safetensors");
        for (const part of ["w.safetensors", key, shown, "index 3"]) {
          assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
        }
        return true;
      },
    );
  }
});

/** `bytes` (a safetensors file) with a second, all-zero entry named `name` appended. */
function withDuplicate(bytes: Uint8Array, name: string): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd();
  const data = bytes.subarray(8 + n);
  const entry = JSON.parse(header)[name];
  const size = entry.data_offsets[1] - entry.data_offsets[0];
  const extra = JSON.stringify({ ...entry, data_offsets: [data.length, data.length + size] });
  const json = new TextEncoder().encode(`${header.slice(0, -1)},${JSON.stringify(name)}:${extra}}`);
  const out = new Uint8Array(8 + json.length + data.length + size);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("a file with a duplicate conv1.weight (the second all zeros) is refused, naming the file", async () => {
  const g = graph(resnet18({ adaptor: lastLayer().adaptor, classes: 10, batch: 1 }).logits);
  const dir = await Deno.makeTempDir();
  try {
    const good = `${dir}/good.safetensors`, dup = `${dir}/dup.safetensors`;
    const bytes = encodeSafetensors(weights);
    await Deno.writeFile(good, bytes);
    await Deno.writeFile(dup, withDuplicate(bytes, "conv1.weight"));
    const imported = await importTorchvisionFile(good, g);
    assert.deepEqual(
      imported.params.get("conv1.weight"),
      toFloat32Array(weights.get("conv1.weight")!),
    );
    await assert.rejects(() => importTorchvisionFile(dup, g), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.equal(e.file, dup);
      assert.equal(e.tensor, "conv1.weight");
      assert.ok(e.message.includes("duplicate key"), e.message);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
