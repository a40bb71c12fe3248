/**
 * MobileNetV2 against TF.js: the committed backbone, built with da3's DSL and
 * run on the CPU reference runtime, reproduces the pooled `block_10` and
 * `Conv_1` (after `out_relu`) features and, with the original nsfwjs head
 * (a test fixture), the 5-class probabilities that `scripts/tfjs_oracle.ts`
 * recorded from the unmodified nsfwjs model in TF.js (CPU backend), within
 * 1e-4; at 224² (the model's own size) and at 64².
 */
import assert from "node:assert/strict";
import { globalAvgPool, graph, type Tensor } from "../lib/graph/mod.ts";
import { type Adaptor, convBnLayer, mobilenetV2, type MobilenetV2Cut } from "../lib/models/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { dequantizeAffine } from "../lib/io/affine_u8.ts";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";
import { parityImagesNchw } from "./tfjs_inputs.ts";

interface ParityCase {
  size: number;
  count: number;
  probabilities: number[][] | null;
  features: Record<"block_10" | "Conv_1", number[][]>;
}

const FIXTURE = JSON.parse(
  await Deno.readTextFile("tests/fixtures/tfjs/mobilenet_v2_parity.json"),
) as { cases: ParityCase[] };
const BACKBONE = dequantizeAffine(
  (await readSafetensorsFile("models/mobilenetv2.safetensors")).tensors,
);
const HEAD = dequantizeAffine(
  (await readSafetensorsFile("tests/fixtures/tfjs/nsfwjs_head.safetensors")).tensors,
);

const frozen: Adaptor = { name: "frozen", convBn: (x, pair) => convBnLayer(x, pair) };

function pooled(cut: MobilenetV2Cut, c: ParityCase): Float32Array {
  const m = mobilenetV2({ adaptor: frozen, classes: 5, batch: c.count, size: c.size, cut });
  const g = graph(globalAvgPool(m.features) as Tensor);
  const [out] = executeCpu(g, {
    inputs: { x: parityImagesNchw(c.count, c.size) },
    params: BACKBONE,
  });
  return out as Float32Array;
}

/** nsfwjs's head: dense 1280→256 ReLU, 256→128 ReLU, 128→5 softmax (dropout is off at inference). */
function head(features: Float32Array, n: number): number[][] {
  const dense = (x: number[], name: string, act: "relu" | "none") => {
    const w = HEAD.get(`${name}.weight`)!, b = HEAD.get(`${name}.bias`)!;
    const out = b.length, inp = x.length;
    return Array.from({ length: out }, (_, o) => {
      let s = b[o];
      for (let i = 0; i < inp; i++) s += w[o * inp + i] * x[i];
      return act === "relu" ? Math.max(0, s) : s;
    });
  };
  return Array.from({ length: n }, (_, k) => {
    const f = [...features.subarray(k * 1280, (k + 1) * 1280)];
    const z = dense(dense(dense(f, "dense_1", "relu"), "dense_2", "relu"), "dense_3", "none");
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

function maxError(got: ArrayLike<number>, want: number[][]): number {
  const flat = want.flat();
  assert.equal(got.length, flat.length);
  let e = 0;
  flat.forEach((v, i) => (e = Math.max(e, Math.abs(got[i] - v))));
  return e;
}

for (const c of FIXTURE.cases) {
  Deno.test(`MobileNetV2 matches TF.js at ${c.size}² (batch ${c.count}) within 1e-4`, () => {
    const b10 = pooled("block_10", c);
    const conv1 = pooled("Conv_1", c);
    const errors = [maxError(b10, c.features.block_10), maxError(conv1, c.features.Conv_1)];
    if (c.probabilities) errors.push(maxError(head(conv1, c.count).flat(), c.probabilities));
    console.log(
      `${c.size}²: max |da3 − TF.js| block_10 ${errors[0]}, Conv_1 ${errors[1]}${
        c.probabilities ? `, probabilities ${errors[2]}` : ""
      }`,
    );
    for (const e of errors) assert.ok(e <= 1e-4, `max error ${e}`);
    // The features carry signal: not all zero, not all equal.
    assert.ok(new Set(conv1).size > 100);
  });
}
