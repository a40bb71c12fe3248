/**
 * The PyTorch ResNet-18 fixture (tests/fixtures/torch) reads with da3's
 * safetensors reader, holds exactly torchvision's state_dict keys and shapes
 * for `resnet18(num_classes=10)`, and carries a fixed input with its logits.
 */
import assert from "node:assert/strict";
import { readSafetensorsFile, toFloat32Array } from "../lib/io/safetensors.ts";

const DIR = new URL("./fixtures/torch/", import.meta.url);

/** torchvision's ResNet-18 state_dict: every key with its shape. */
function resnet18Shapes(numClasses: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const bn = (prefix: string, c: number) => {
    for (const k of ["weight", "bias", "running_mean", "running_var"]) {
      shapes.set(`${prefix}.${k}`, [c]);
    }
    shapes.set(`${prefix}.num_batches_tracked`, []);
  };
  shapes.set("conv1.weight", [64, 3, 7, 7]);
  bn("bn1", 64);
  let inC = 64;
  [64, 128, 256, 512].forEach((c, i) => {
    for (const b of [0, 1]) {
      const p = `layer${i + 1}.${b}`;
      const blockIn = b === 0 ? inC : c;
      shapes.set(`${p}.conv1.weight`, [c, blockIn, 3, 3]);
      bn(`${p}.bn1`, c);
      shapes.set(`${p}.conv2.weight`, [c, c, 3, 3]);
      bn(`${p}.bn2`, c);
      if (b === 0 && i > 0) {
        shapes.set(`${p}.downsample.0.weight`, [c, blockIn, 1, 1]);
        bn(`${p}.downsample.1`, c);
      }
    }
    inC = c;
  });
  shapes.set("fc.weight", [numClasses, 512]);
  shapes.set("fc.bias", [numClasses]);
  return shapes;
}

Deno.test("resnet18_f16.safetensors holds torchvision's ResNet-18 state_dict", async () => {
  const { tensors, metadata } = await readSafetensorsFile(new URL("resnet18_f16.safetensors", DIR));
  const expected = resnet18Shapes(10);
  assert.equal(expected.size, 122);
  assert.deepEqual([...tensors.keys()].sort(), [...expected.keys()].sort());
  for (const [name, shape] of expected) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, shape, name);
    assert.equal(t.dtype, name.endsWith("num_batches_tracked") ? "I64" : "F16", name);
  }
  assert.deepEqual(tensors.get("conv1.weight")!.shape, [64, 3, 7, 7]);
  assert.deepEqual(tensors.get("layer1.0.bn1.running_var")!.shape, [64]);
  assert.deepEqual(tensors.get("fc.weight")!.shape, [10, 512]);
  assert.equal(metadata.model, "torchvision.models.resnet18(num_classes=10)");
  assert.ok(metadata.torch && metadata.torchvision);
});

Deno.test("the fixture's BN statistics and affine parameters are non-trivial", async () => {
  const { tensors } = await readSafetensorsFile(new URL("resnet18_f16.safetensors", DIR));
  let params = 0;
  for (const [name, t] of tensors) {
    if (t.dtype === "I64") {
      assert.ok((t.data as BigInt64Array)[0] > 0n, `${name} is zero`);
      continue;
    }
    const v = toFloat32Array(t);
    params += v.length;
    assert.ok(v.every(Number.isFinite), `${name} has a non-finite value`);
    if (/\.(running_var|running_mean|weight|bias)$/.test(name) && t.shape.length === 1) {
      assert.ok(new Set(v).size > 1, `${name} is constant`);
    }
    if (name.endsWith("running_var")) assert.ok(v.every((x) => x > 0), `${name} not positive`);
  }
  assert.equal(params, 11_181_642 + 9_600); // torchvision's count, plus BN running stats
});

Deno.test("resnet18_io.safetensors holds a [2,3,64,64] input and [2,10] logits", async () => {
  const { tensors } = await readSafetensorsFile(new URL("resnet18_io.safetensors", DIR));
  const input = tensors.get("input")!;
  const logits = tensors.get("logits")!;
  assert.equal(input.dtype, "F32");
  assert.deepEqual(input.shape, [2, 3, 64, 64]);
  assert.equal(logits.dtype, "F32");
  assert.deepEqual(logits.shape, [2, 10]);
  const l = toFloat32Array(logits);
  assert.ok(l.every(Number.isFinite));
  assert.ok(new Set(l).size === 20, "logits should all differ");
  const stages: [string, number[]][] = [
    ["features.stem", [2, 64, 16, 16]],
    ["features.layer1", [2, 64, 16, 16]],
    ["features.layer2", [2, 128, 8, 8]],
    ["features.layer3", [2, 256, 4, 4]],
    ["features.layer4", [2, 512, 2, 2]],
    ["features.pool", [2, 512]],
  ];
  for (const [name, shape] of stages) assert.deepEqual(tensors.get(name)?.shape, shape, name);
});
