/**
 * ResNet builders: torchvision parameter counts, names and shapes, logits
 * shapes, and how the adaptor is called.
 */
import assert from "node:assert/strict";
import { graph, params, ShapeError, type Tensor } from "../lib/graph/mod.ts";
import {
  type Adaptor,
  cifarResnet,
  convBnLayer,
  type ConvBnSpec,
  parameterCount,
  resnet18,
  resnet20,
  resnet50,
  resnet56,
} from "../lib/models/mod.ts";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";

const frozen: Adaptor = { name: "frozen", convBn: (x, pair) => convBnLayer(x, pair) };

function shapes(logits: Tensor): Map<string, readonly number[]> {
  return new Map(params(graph(logits)).map((p) => [String(p.attrs.name), p.shape]));
}

Deno.test("ResNet-18 and ResNet-50 have torchvision's parameter counts and logits shapes", () => {
  const r18 = resnet18({ adaptor: frozen, classes: 1000, batch: 2 });
  const r50 = resnet50({ adaptor: frozen, classes: 1000, batch: 2 });
  assert.equal(parameterCount(r18.logits), 11_689_512);
  assert.equal(parameterCount(r50.logits), 25_557_032);
  assert.deepEqual(r18.logits.shape, [2, 1000]);
  assert.deepEqual(r50.logits.shape, [2, 1000]);
  assert.equal(r18.blocks.length, 8);
  assert.equal(r50.blocks.length, 16);
});

Deno.test("ResNet-50 parameter names and shapes follow torchvision", () => {
  const s = shapes(resnet50({ adaptor: frozen, classes: 1000, batch: 1 }).logits);
  assert.deepEqual(s.get("conv1.weight"), [64, 3, 7, 7]);
  assert.deepEqual(s.get("bn1.running_var"), [64]);
  assert.deepEqual(s.get("layer1.0.conv1.weight"), [64, 64, 1, 1]);
  assert.deepEqual(s.get("layer1.0.downsample.0.weight"), [256, 64, 1, 1]);
  assert.deepEqual(s.get("layer1.0.downsample.1.running_mean"), [256]);
  assert.deepEqual(s.get("layer2.0.conv2.weight"), [128, 128, 3, 3]);
  assert.deepEqual(s.get("layer4.2.conv3.weight"), [2048, 512, 1, 1]);
  assert.deepEqual(s.get("layer4.2.bn3.bias"), [2048]);
  assert.deepEqual(s.get("fc.weight"), [1000, 2048]);
  assert.equal(s.has("layer1.1.downsample.0.weight"), false);
  // 53 conv weights, fc weight and bias, and four tensors for each of the 53 batch norms.
  assert.equal(s.size, 53 + 2 + 53 * 4);
});

Deno.test("ResNet-18 parameter keys equal the torchvision fixture's state_dict keys", async () => {
  const url = new URL("./fixtures/torch/resnet18_f16.safetensors", import.meta.url);
  const { tensors } = await readSafetensorsFile(url);
  const s = shapes(resnet18({ adaptor: frozen, classes: 10, batch: 1, size: 64 }).logits);
  const torchKeys = [...tensors.keys()].filter((k) => !k.endsWith("num_batches_tracked"));
  assert.deepEqual([...s.keys()].sort(), torchKeys.sort());
  for (const k of torchKeys) assert.deepEqual(s.get(k), tensors.get(k)!.shape, k);
});

Deno.test("CIFAR ResNet-20/56: 16/32/64 channels, projection shortcuts, ≈0.27 M / 0.86 M", () => {
  const r20 = resnet20({ adaptor: frozen, classes: 10, batch: 4 });
  assert.deepEqual(r20.logits.shape, [4, 10]);
  assert.deepEqual(r20.input.shape, [4, 3, 32, 32]);
  // 269,722 with parameter-free shortcuts plus the two 1×1+BN projections.
  assert.equal(parameterCount(r20.logits), 269_722 + 16 * 32 + 32 * 64 + 2 * (32 + 64));
  assert.equal(
    parameterCount(resnet56({ adaptor: frozen, classes: 10, batch: 1 }).logits),
    855_770,
  );
  const s = shapes(r20.logits);
  assert.deepEqual(s.get("conv1.weight"), [16, 3, 3, 3]);
  assert.deepEqual(s.get("layer1.2.conv2.weight"), [16, 16, 3, 3]);
  assert.deepEqual(s.get("layer2.0.conv1.weight"), [32, 16, 3, 3]);
  assert.deepEqual(s.get("layer2.0.downsample.0.weight"), [32, 16, 1, 1]);
  assert.deepEqual(s.get("layer3.0.downsample.1.weight"), [64]);
  assert.deepEqual(s.get("fc.weight"), [10, 64]);
  assert.equal(s.has("layer1.0.downsample.0.weight"), false);
  assert.equal(s.has("layer4.0.conv1.weight"), false);
  assert.deepEqual(r20.blocks.map((b) => b.stride), [1, 1, 1, 2, 1, 1, 2, 1, 1]);
});

Deno.test("CIFAR ResNets reject depths that are not 6n+2", () => {
  for (const depth of [0, 8.5, 19, 21]) {
    assert.throws(() => cifarResnet(depth, { adaptor: frozen, classes: 10, batch: 1 }), ShapeError);
  }
});

Deno.test("the adaptor sees every pair once, with roles, and its output is used", () => {
  const seen: ConvBnSpec[] = [];
  const spy: Adaptor = {
    name: "spy",
    convBn: (x, pair, ctx) => {
      seen.push(pair);
      assert.equal(ctx.block === null, pair.role === "stem");
      return convBnLayer(x, pair);
    },
  };
  const r50 = resnet50({ adaptor: spy, classes: 5, batch: 1, size: 64 });
  assert.equal(seen.length, 53);
  assert.equal(seen.filter((p) => p.role === "stem").length, 1);
  assert.equal(seen.filter((p) => p.role === "shortcut").length, 4);
  assert.equal(seen.filter((p) => p.last).length, 16);
  assert.deepEqual(seen.find((p) => p.conv === "layer2.0.conv2")!.stride, 2);
  assert.deepEqual(seen.find((p) => p.conv === "layer2.0.conv1")!.stride, 1);
  assert.deepEqual(r50.logits.shape, [1, 5]);
  // The residual hook rewrites each block's main-path output.
  let blocks = 0;
  const counting: Adaptor = { ...frozen, residual: (_x, branch) => (blocks++, branch) };
  resnet20({ adaptor: counting, classes: 10, batch: 1 });
  assert.equal(blocks, 9);
});
