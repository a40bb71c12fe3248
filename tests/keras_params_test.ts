/**
 * Keras-to-da3 parameters: layouts (a transpose property against index
 * arithmetic), names, quantised integers permuted with their values, the
 * affine-u8 safetensors round trip, and the committed MobileNetV2 backbone:
 * its counts, names and provenance.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { kerasLayerParams, transpose } from "../lib/io/keras_params.ts";
import { affineTensors, dequantizeAffine } from "../lib/io/affine_u8.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
} from "../lib/io/safetensors.ts";
import type { TfjsLayer, TfjsWeight } from "../lib/io/tfjs_layers.ts";

Deno.test("transpose moves element (i,j,k,l) to its permuted index", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
      fc.constantFrom([3, 2, 0, 1], [2, 3, 0, 1], [0, 1, 2, 3], [1, 0, 3, 2]),
      (shape, perm) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, (_, i) => i);
        const out = transpose(data, shape, perm);
        const os = perm.map((p) => shape[p]);
        const [a, b, c, d] = shape;
        for (let i = 0; i < a; i++) {
          for (let j = 0; j < b; j++) {
            for (let k = 0; k < c; k++) {
              for (let l = 0; l < d; l++) {
                const src = [i, j, k, l];
                const dst = perm.map((p) => src[p]);
                const at = ((dst[0] * os[1] + dst[1]) * os[2] + dst[2]) * os[3] + dst[3];
                assert.equal(out[at], ((i * b + j) * c + k) * d + l);
              }
            }
          }
        }
      },
    ),
    { numRuns: 50, seed: 16 },
  );
});

function weight(name: string, shape: number[], quantized = false): TfjsWeight {
  const n = shape.reduce((a, b) => a * b, 1);
  const q = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256);
  const values = Float32Array.from(q, (v) => v * 0.5 - 3);
  return {
    name,
    shape,
    storage: quantized ? "uint8" : "float32",
    values,
    ...(quantized ? { quantized: { q, min: -3, scale: 0.5 } } : {}),
  };
}

function layer(name: string, className: TfjsLayer["className"], w: Record<string, TfjsWeight>) {
  return { name, className, config: {}, inbound: [], weights: w } as TfjsLayer;
}

Deno.test("Keras layers map to da3 names and layouts; integers follow their values", () => {
  const conv = kerasLayerParams(
    layer("c", "Conv2D", { kernel: weight("c/kernel", [3, 3, 2, 4], true) }),
  );
  const cw = conv.get("c.weight")!;
  assert.deepEqual(cw.shape, [4, 2, 3, 3]);
  assert.deepEqual(cw.values, Float32Array.from(cw.quantized!.q, (v) => v * 0.5 - 3));
  // da3 [o, i, y, x] = Keras [y, x, i, o]: element (o=1, i=0, y=2, x=1).
  assert.equal(
    cw.values[((1 * 2 + 0) * 3 + 2) * 3 + 1],
    weight("k", [3, 3, 2, 4]).values[((2 * 3 + 1) * 2 + 0) * 4 + 1],
  );
  const dw = kerasLayerParams(
    layer("d", "DepthwiseConv2D", { depthwise_kernel: weight("d/dk", [3, 3, 5, 1]) }),
  );
  assert.deepEqual(dw.get("d.weight")!.shape, [5, 1, 3, 3]);
  const bn = kerasLayerParams(layer("b", "BatchNormalization", {
    gamma: weight("b/gamma", [3]),
    beta: weight("b/beta", [3]),
    moving_mean: weight("b/moving_mean", [3]),
    moving_variance: weight("b/moving_variance", [3]),
  }));
  assert.deepEqual([...bn.keys()], ["b.weight", "b.bias", "b.running_mean", "b.running_var"]);
  const fc1 = kerasLayerParams(
    layer("f", "Dense", { kernel: weight("f/k", [6, 2]), bias: weight("f/b", [2]) }),
  );
  assert.deepEqual(fc1.get("f.weight")!.shape, [2, 6]);
  assert.deepEqual([...kerasLayerParams(layer("r", "ReLU", {})).keys()], []);
});

Deno.test("affine-u8 safetensors round-trip to the same float32 values", () => {
  const params = kerasLayerParams(
    layer("c", "Conv2D", { kernel: weight("c/kernel", [1, 1, 3, 2], true) }),
  );
  params.set("x.bias", { shape: [2], values: Float32Array.from([1.5, -2]) });
  const tensors = decodeSafetensors(encodeSafetensors(affineTensors(params))).tensors;
  assert.equal(tensors.get("c.weight")!.dtype, "U8");
  const back = dequantizeAffine(tensors);
  assert.deepEqual([...back.keys()].sort(), ["c.weight", "x.bias"]);
  assert.deepEqual(back.get("c.weight"), params.get("c.weight")!.values);
  assert.deepEqual(back.get("x.bias"), Float32Array.from([1.5, -2]));
  const broken = new Map(tensors);
  broken.delete("c.weight.affine");
  assert.throws(
    () => dequantizeAffine(broken),
    /c.weight: U8 tensor needs an F64 \[2\] c.weight.affine/,
  );
});

Deno.test("the committed MobileNetV2 backbone: 2,223,872 parameters + 34,112 BN statistics, provenance", async () => {
  const { tensors, metadata } = await readSafetensorsFile("models/mobilenetv2.safetensors");
  const params = dequantizeAffine(tensors);
  let weights = 0, stats = 0;
  for (const [k, v] of params) {
    if (k.endsWith(".running_mean") || k.endsWith(".running_var")) stats += v.length;
    else weights += v.length;
  }
  assert.equal(weights, 2_223_872);
  assert.equal(stats, 34_112);
  assert.equal(params.size, 35 + 17 + 52 * 4);
  assert.deepEqual(tensors.get("block_1_depthwise.weight")!.shape, [96, 1, 3, 3]);
  assert.deepEqual(tensors.get("Conv_1.weight")!.shape, [1280, 320, 1, 1]);
  assert.ok(![...params.keys()].some((k) => k.startsWith("dense")));
  const prov = JSON.parse(await Deno.readTextFile("models/mobilenetv2.provenance.json"));
  assert.equal(prov.tarballSha256, metadata.sha256);
  assert.equal(`${prov.package}@${prov.version}`, metadata.source);
  assert.equal(prov.license, "MIT");
  assert.match(prov.licenseText, /Copyright \(c\) 2019 Infinite Red/);
  const bytes = await Deno.readFile("models/mobilenetv2.safetensors");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assert.equal(prov.fileSha256, [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
});
