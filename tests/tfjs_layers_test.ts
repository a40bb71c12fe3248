/**
 * TF.js layers-model reader: a small model with every storage (float32,
 * float16, uint8, uint16) over two groups and a two-shard group decodes to
 * the values TF.js computes; hostile model JSON / shard sets get a
 * TfjsModelError naming the file and the layer; a fuzzer mutates the model
 * and its shards and only ever sees the original values or that error. The
 * bundle literal parser reads JSON and its minified spelling.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { readTfjsLayersModel, TfjsModelError } from "../lib/io/tfjs_layers.ts";
import { browserifyExports, JsLiteralError, parseJsLiteral } from "../lib/io/js_literal.ts";

// Hostile inputs are built by mutating plain JSON in place, untyped on purpose.
// deno-lint-ignore no-explicit-any
type Loose = any;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const CONV_Q = Uint8Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
const BN_GAMMA = Float32Array.from([1, 2, 0.5, -1]);
const BN_BETA = Float32Array.from([0.25, -0.5, 1.5, 3]);
const BN_MEAN = Float32Array.from([0.125, 0, -2, 4]);
const BN_VAR = Uint16Array.from([0, 1000, 65535, 7]);
const DENSE_K = Float32Array.from({ length: 4 * 2 }, (_, i) => i / 8 - 0.5);
const DENSE_B = Float32Array.from([0.75, -0.25]);

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** A 4-layer model and its shards: conv (uint8), BN (float16, float32, uint16) in group 1 over two shards; dense in group 2. */
function fixture(): { json: Json; shards: Map<string, Uint8Array> } {
  const layer = (name: string, cls: string, config: Json, from: string | null): Json => ({
    name,
    class_name: cls,
    config: { name, ...(config as object) },
    inbound_nodes: from === null ? [] : [[[from, 0, 0, {}]]],
  });
  const layers = [
    layer("in", "InputLayer", { batch_input_shape: [null, 4, 4, 3] }, null),
    layer("conv", "Conv2D", { filters: 4, kernel_size: [2, 2], use_bias: false }, "in"),
    layer("bn", "BatchNormalization", { epsilon: 1e-3 }, "conv"),
    layer("relu", "ReLU", { max_value: 6 }, "bn"),
    layer("gap", "GlobalAveragePooling2D", {}, "relu"),
    layer("fc", "Dense", { units: 2, use_bias: true }, "gap"),
  ];
  const q8 = { dtype: "uint8", min: -0.5, scale: 1 / 128 };
  const json: Json = {
    modelTopology: {
      model_config: {
        class_name: "Model",
        config: { name: "m", layers, output_layers: [["fc", 0, 0]] },
      },
    },
    weightsManifest: [
      {
        paths: ["g1-shard1of2", "g1-shard2of2"],
        weights: [
          { name: "conv/kernel", shape: [2, 2, 3, 4], dtype: "float32", quantization: q8 },
          { name: "bn/gamma", shape: [4], dtype: "float32", quantization: { dtype: "float16" } },
          { name: "bn/beta", shape: [4], dtype: "float32" },
          { name: "bn/moving_mean", shape: [4], dtype: "float32" },
          {
            name: "bn/moving_variance",
            shape: [4],
            dtype: "float32",
            quantization: { dtype: "uint16", min: 0.001, scale: 0.0005 },
          },
        ],
      },
      {
        paths: ["g2-shard1of1"],
        weights: [
          { name: "fc/kernel", shape: [4, 2], dtype: "float32" },
          { name: "fc/bias", shape: [2], dtype: "float32" },
        ],
      },
    ],
  };
  const g1 = cat(
    CONV_Q,
    bytes(new Float16Array(BN_GAMMA)),
    bytes(BN_BETA),
    bytes(BN_MEAN),
    bytes(BN_VAR),
  );
  const shards = new Map([
    ["g1-shard1of2", g1.slice(0, 30)],
    ["g1-shard2of2", g1.slice(30)],
    ["g2-shard1of1", cat(bytes(DENSE_K), bytes(DENSE_B))],
  ]);
  return { json, shards };
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

Deno.test("tfjs reader: every storage decodes to TF.js's values, across shards and groups", () => {
  const { json, shards } = fixture();
  const m = readTfjsLayersModel(json, shards);
  assert.deepEqual(m.layers.map((l) => l.name), ["in", "conv", "bn", "relu", "gap", "fc"]);
  assert.deepEqual(m.outputs, ["fc"]);
  assert.deepEqual(m.byName.get("bn")!.inbound, ["conv"]);
  const conv = m.byName.get("conv")!.weights.kernel;
  assert.equal(conv.storage, "uint8");
  assert.deepEqual(conv.quantized!.q, CONV_Q);
  assert.deepEqual(conv.values, Float32Array.from(CONV_Q, (q) => q * (1 / 128) - 0.5));
  const bn = m.byName.get("bn")!.weights;
  assert.deepEqual(bn.gamma.values, BN_GAMMA);
  assert.deepEqual(bn.beta.values, BN_BETA);
  assert.deepEqual(bn.moving_mean.values, BN_MEAN);
  assert.deepEqual(bn.moving_variance.values, Float32Array.from(BN_VAR, (q) => q * 0.0005 + 0.001));
  assert.deepEqual(m.byName.get("fc")!.weights.kernel.values, DENSE_K);
  assert.deepEqual(m.byName.get("fc")!.weights.bias.values, DENSE_B);
});

/** Mutates a fixture and expects a TfjsModelError naming `file` and `layer`, matching `message`. */
function rejects(
  mutate: (json: Loose, shards: Map<string, Uint8Array>) => void,
  file: string,
  layer: string | null,
  message: RegExp,
) {
  const { json, shards } = fixture();
  mutate(json, shards);
  assert.throws(() => readTfjsLayersModel(json, shards, { file: "model.json" }), (e) => {
    assert.ok(e instanceof TfjsModelError, String(e));
    assert.equal(e.file, file);
    assert.equal(e.layer, layer);
    assert.match(e.message, message);
    return true;
  });
}

const W1 = (j: Loose) => j.weightsManifest[0].weights;
const LAYERS = (j: Loose) => j.modelTopology.model_config.config.layers;

Deno.test("tfjs reader: a shard one byte short or long names the shards", () => {
  rejects(
    (_, s) => s.set("g1-shard2of2", s.get("g1-shard2of2")!.slice(1)),
    "g1-shard1of2+g1-shard2of2",
    null,
    /hold 95 bytes, the manifest lays out 96/,
  );
  rejects(
    (_, s) => s.set("g2-shard1of1", cat(s.get("g2-shard1of1")!, new Uint8Array(1))),
    "g2-shard1of1",
    null,
    /hold 41 bytes/,
  );
});

Deno.test("tfjs reader: a missing shard names the shard and the model file", () => {
  rejects(
    (_, s) => s.delete("g2-shard1of1"),
    "g2-shard1of1",
    null,
    /shard missing \(listed by model.json\)/,
  );
});

Deno.test("tfjs reader: an unknown layer class names the layer", () => {
  rejects(
    (j) => (LAYERS(j)[3].class_name = "LeakyReLU"),
    "model.json",
    "relu",
    /unknown layer class "LeakyReLU"/,
  );
});

Deno.test("tfjs reader: NaN or infinite quantisation scale and min are refused", () => {
  rejects(
    (j) => (W1(j)[0].quantization.scale = NaN),
    "model.json",
    "conv",
    /conv\/kernel: quantization.scale must be finite/,
  );
  rejects(
    (j) => (W1(j)[4].quantization.min = Infinity),
    "model.json",
    "bn",
    /quantization.min must be finite/,
  );
  rejects(
    (j) => (W1(j)[4].quantization.dtype = "int4"),
    "model.json",
    "bn",
    /unknown quantization dtype/,
  );
});

Deno.test("tfjs reader: a NaN or infinite weight value names the shard and the layer", () => {
  rejects(
    (_, s) => {
      const b = s.get("g2-shard1of1")!.slice();
      new DataView(b.buffer).setFloat32(4, NaN, true);
      s.set("g2-shard1of1", b);
    },
    "g2-shard1of1",
    "fc",
    /weight fc\/kernel\[1\] is NaN \(as float32\)/,
  );
  rejects(
    (_, s) => {
      const b = s.get("g1-shard2of2")!.slice();
      b.set([0x00, 0x7c], 48 - 30); // float16 +Infinity as bn/gamma[0], past shard 1's 30 bytes
      s.set("g1-shard2of2", b);
    },
    "g1-shard1of2+g1-shard2of2",
    "bn",
    /bn\/gamma\[0\] is Infinity \(as float16\)/,
  );
  rejects(
    (j) => (W1(j)[0].quantization.scale = 1e308),
    "g1-shard1of2+g1-shard2of2",
    "conv",
    /is Infinity \(as uint8\)/,
  );
});

Deno.test("tfjs reader: weights that do not fit their layer are refused before decoding", () => {
  rejects((j) => (W1(j)[0].shape = [2, 2, 3, 5]), "model.json", "conv", /does not fit the config/);
  rejects((j) => (W1(j)[1].name = "bn/gama"), "model.json", "bn", /unexpected weight bn\/gama/);
  rejects((j) => W1(j).splice(3, 1), "model.json", "bn", /bn\/moving_mean missing/);
  rejects((j) => (W1(j)[0].name = "conv2/kernel"), "model.json", "conv2", /belongs to no layer/);
  rejects((j) => (W1(j)[2].dtype = "int32"), "model.json", "bn", /dtype "int32" is not float32/);
  rejects((j) => W1(j).push(clone(W1(j)[2])), "model.json", "bn", /listed twice/);
  rejects((j) => (W1(j)[2].shape = [4, 0]), "model.json", "bn", /positive integers/);
});

Deno.test("tfjs reader: topology faults name the layer", () => {
  rejects(
    (j) => (LAYERS(j)[2].inbound_nodes = [[["nowhere", 0, 0, {}]]]),
    "model.json",
    "bn",
    /not an earlier layer/,
  );
  rejects((j) => (LAYERS(j)[2].name = "conv"), "model.json", "conv", /duplicate layer name/);
  rejects((j) => (LAYERS(j)[1].config.kernel_size = [2]), "model.json", "conv", /kernel_size/);
  rejects(
    (j) => (j.modelTopology.model_config.config.output_layers = [["x", 0, 0]]),
    "model.json",
    null,
    /output layer/,
  );
  rejects((j) => (j.weightsManifest = {}), "model.json", null, /weightsManifest must be an array/);
});

function mutateAt(value: Json, path: readonly number[], replacement: Json, del: boolean): Json {
  if (path.length === 0 || value === null || typeof value !== "object") return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const k = keys[path[0] % keys.length];
  const out: Loose = Array.isArray(value) ? [...value] : { ...value };
  if (path.length === 1 && del) {
    if (Array.isArray(out)) out.splice(Number(k), 1);
    else delete out[k];
    return out;
  }
  out[k] = mutateAt(out[k], path.slice(1), replacement, del);
  return out;
}

const weightValues = (m: ReturnType<typeof readTfjsLayersModel>) =>
  m.layers.flatMap((l) => Object.values(l.weights).map((w) => [w.name, [...w.values]]));

Deno.test("tfjs reader fuzz: mutated models give the original values or a TfjsModelError", () => {
  const { json, shards } = fixture();
  const original = weightValues(readTfjsLayersModel(json, shards));
  const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(NaN), fc.constant(-1));
  const path = fc.array(fc.nat(40), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(
      fc.boolean(),
      path,
      replacement,
      fc.boolean(),
      fc.option(fc.tuple(fc.constantFrom(...shards.keys()), fc.integer({ min: -3, max: 3 }))),
      (inTopology, p, r, del, shardEdit) => {
        const j = json as { [k: string]: Json };
        const key = inTopology ? "modelTopology" : "weightsManifest";
        const mutated = { ...j, [key]: mutateAt(j[key], p, r as Json, del) };
        const s = new Map(shards);
        if (shardEdit && shardEdit[1] !== 0) {
          const [name, d] = shardEdit;
          const b = s.get(name)!;
          s.set(name, d < 0 ? b.slice(0, Math.max(0, b.length + d)) : cat(b, new Uint8Array(d)));
        }
        let m;
        try {
          m = readTfjsLayersModel(mutated, s);
        } catch (e) {
          if (e instanceof TfjsModelError) return;
          throw e;
        }
        const shardsIntact = !shardEdit || shardEdit[1] === 0;
        assert.ok(shardsIntact, "a resized shard was accepted");
        if (inTopology) assert.deepEqual(weightValues(m), original);
      },
    ),
    { numRuns: 400, seed: 16 },
  );
});

Deno.test("js literal: JSON values round-trip; the minified spelling parses", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v);
      assert.deepEqual(JSON.stringify(parseJsLiteral(text).value), text);
    }),
    { numRuns: 200, seed: 16 },
  );
  const { value } = parseJsLiteral(`{a:!0,b:!1,"c-d":[.5,-.25,1e-3,null],e:'x\\u0041\\n'}`);
  assert.deepEqual(JSON.parse(JSON.stringify(value)), {
    a: true,
    b: false,
    "c-d": [0.5, -0.25, 0.001, null],
    e: "xA\n",
  });
});

Deno.test("js literal: a browserify data module yields its literal; code is refused", () => {
  const wrap = (body: string) =>
    `!function(e){}(function(){return function e(){}({1:[function(e,a,n){a.exports=${body}},{}]},{},[1])(1)});`;
  assert.deepEqual(JSON.parse(JSON.stringify(browserifyExports(wrap(`{x:[1,2]}`)))), { x: [1, 2] });
  assert.equal(browserifyExports(wrap(`"QUJD"`)), "QUJD");
  assert.throws(() => browserifyExports(wrap(`f()`), "m.js"), JsLiteralError);
  assert.throws(
    () => browserifyExports(wrap(`{x:1};g()`), "m.js"),
    /m.js: at offset \d+: module continues/,
  );
  assert.throws(
    () => browserifyExports(`module.exports={}`, "m.js"),
    /expected one browserify module/,
  );
  assert.throws(() => parseJsLiteral(`{a:1,a:2}`), /duplicate key/);
});
