/**
 * Forward semantics of the CPU reference runtime on hand-computed values.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  executeCpu,
  globalAvgPool,
  graph,
  input,
  maxPool2d,
  param,
  type Tensor,
  type TensorData,
} from "../mod.ts";
import {
  channelMean,
  matmul,
  reluMask,
  softmaxCrossEntropy,
  upsampleNearest,
} from "../lib/graph/mod.ts";
import { FeedError } from "../lib/runtime/mod.ts";

const range = (n: number, from = 1) => Float32Array.from({ length: n }, (_, i) => i + from);

function run(t: Tensor, inputs: Record<string, TensorData>, params: Record<string, number[]> = {}) {
  const store = new Map(Object.entries(params).map(([k, v]) => [k, Float32Array.from(v)]));
  return [...executeCpu(graph(t), { inputs, params: store })[0]];
}

const x33 = input("x", [1, 1, 3, 3]);
const nine = { x: range(9) };

Deno.test("conv2d: valid, strided+padded, and depthwise", () => {
  const w = param("w", [1, 1, 2, 2]);
  assert.deepEqual(run(conv2d(x33, w), nine, { w: [1, 1, 1, 1] }), [12, 16, 24, 28]);
  assert.deepEqual(
    run(conv2d(x33, w, { stride: 2, padding: 1 }), nine, { w: [1, 1, 1, 1] }),
    [1, 5, 11, 28],
  );
  const x2 = input("x", [1, 2, 1, 2]);
  const dw = param("dw", [2, 1, 1, 1]);
  assert.deepEqual(run(conv2d(x2, dw, { groups: 2 }), { x: range(4) }, { dw: [10, -1] }), [
    10,
    20,
    -3,
    -4,
  ]);
  const dil = param("d", [1, 1, 2, 2]);
  assert.deepEqual(run(conv2d(x33, dil, { dilation: 2 }), nine, { d: [1, 0, 0, 1] }), [10]);
});

Deno.test("pooling counts padding as zeros (avg) and never picks it (max)", () => {
  const opts = { kernel: 2, stride: 2, padding: 1 } as const;
  assert.deepEqual(run(avgPool2d(x33, opts), nine), [0.25, 1.25, 2.75, 7]);
  assert.deepEqual(run(maxPool2d(input("x", [1, 1, 3, 3]), opts), { x: range(9, -9) }), [
    -9,
    -7,
    -3,
    -1,
  ]);
});

Deno.test("batchNorm: eval uses running stats; batch mode normalises each channel", () => {
  const p = (n: string) => ({
    gamma: param(`${n}g`, [1]),
    beta: param(`${n}b`, [1]),
    mean: param(`${n}m`, [1]),
    variance: param(`${n}v`, [1]),
  });
  const vals = { eg: [2], eb: [1], em: [5], ev: [4 - 1e-5] };
  const e = run(batchNorm(x33, p("e")), nine, vals);
  e.forEach((v, i) => assert.ok(Math.abs(v - (i + 1 - 4)) < 1e-5, `${i}: ${v}`));
  const y = run(batchNorm(x33, p("b"), { mode: "batch" }), nine, {
    bg: [1],
    bb: [0],
    bm: [100],
    bv: [100],
  });
  const m = y.reduce((a, b) => a + b) / 9;
  const v = y.reduce((a, b) => a + (b - m) ** 2, 0) / 9;
  assert.ok(Math.abs(m) < 1e-6 && Math.abs(v - 1) < 1e-4, `mean ${m} var ${v}`);
});

Deno.test("reductions, upsampling and broadcasting", () => {
  const x = input("x", [1, 2, 2, 2]);
  assert.deepEqual(run(globalAvgPool(x), { x: range(8) }), [2.5, 6.5]);
  assert.deepEqual(run(channelMean(x), { x: range(8) }), [3, 4, 5, 6]);
  const up = run(upsampleNearest(input("u", [1, 1, 1, 2]), 2), { u: range(2) });
  assert.deepEqual(up, [1, 1, 2, 2, 1, 1, 2, 2]);
  assert.deepEqual(run(add(input("a", [2, 3]), input("b", [3])), { a: range(6), b: range(3) }), [
    2,
    4,
    6,
    5,
    7,
    9,
  ]);
});

Deno.test("softmax cross-entropy of equal logits is log(K)", () => {
  const l = softmaxCrossEntropy(input("z", [2, 4]), input("y", [2], "i32"));
  const [loss] = run(l, { z: new Float32Array(8), y: Int32Array.of(0, 3) });
  assert.ok(Math.abs(loss - Math.log(4)) < 1e-6);
});

Deno.test("reluMask packs 1 bit per element, 32 per word", () => {
  const v = input("v", [40]);
  const data = Float32Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : -1));
  const [m] = executeCpu(graph(reluMask(v)), { inputs: { v: data }, params: new Map() });
  assert.equal(m.length, 2);
  for (let i = 0; i < 40; i++) assert.equal(((m[i >> 5] >>> (i & 31)) & 1) === 1, i % 3 === 0);
});

Deno.test("matmul with every transpose combination equals the naive product", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.boolean(),
    fc.boolean(),
    (m, k, n, transA, transB) => {
      const a = range(m * k), b = range(k * n, -3);
      const at = (i: number, r: number) => (transA ? a[r * m + i] : a[i * k + r]);
      const bt = (r: number, j: number) => (transB ? b[j * k + r] : b[r * n + j]);
      const got = run(
        matmul(input("a", transA ? [k, m] : [m, k]), input("b", transB ? [n, k] : [k, n]), {
          transA,
          transB,
        }),
        { a, b },
      );
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let r = 0; r < k; r++) s += at(i, r) * bt(r, j);
          assert.equal(got[i * n + j], s);
        }
      }
    },
  ));
});

Deno.test("missing or mis-sized feeds raise FeedError naming the value", () => {
  const t = conv2d(x33, param("w", [1, 1, 2, 2]));
  assert.throws(() => run(t, {}, { w: [1, 1, 1, 1] }), /input "x" \[1,1,3,3\] was not fed/);
  assert.throws(() => run(t, { x: range(8) }, { w: [1, 1, 1, 1] }), FeedError);
  assert.throws(() => run(t, nine, { w: [1, 1, 1] }), /param "w" expects f32\[1,1,2,2\]/);
});

Deno.test("conv2d equals the direct seven-loop definition on random shapes", () => {
  fc.assert(fc.property(
    fc.record({
      n: fc.integer({ min: 1, max: 2 }),
      g: fc.integer({ min: 1, max: 3 }),
      cinG: fc.integer({ min: 1, max: 3 }),
      coutG: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 7 }),
      w: fc.integer({ min: 1, max: 7 }),
      k: fc.integer({ min: 1, max: 3 }),
      s: fc.integer({ min: 1, max: 3 }),
      p: fc.integer({ min: 0, max: 2 }),
      d: fc.integer({ min: 1, max: 2 }),
    }),
    ({ n, g, cinG, coutG, h, w, k, s, p, d }) => {
      const ho = Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1;
      const wo = Math.floor((w + 2 * p - d * (k - 1) - 1) / s) + 1;
      fc.pre(ho >= 1 && wo >= 1);
      const [cin, cout] = [g * cinG, g * coutG];
      const x = range(n * cin * h * w, -20).map((v) => Math.sin(v));
      const wt = range(cout * cinG * k * k).map((v) => Math.cos(v));
      const got = run(
        conv2d(input("x", [n, cin, h, w]), param("w", [cout, cinG, k, k]), {
          stride: s,
          padding: p,
          dilation: d,
          groups: g,
        }),
        { x },
        { w: [...wt] },
      );
      for (let b = 0; b < n; b++) {
        for (let co = 0; co < cout; co++) {
          for (let oh = 0; oh < ho; oh++) {
            for (let ow = 0; ow < wo; ow++) {
              let acc = 0;
              for (let c = 0; c < cinG; c++) {
                for (let i = 0; i < k; i++) {
                  for (let j = 0; j < k; j++) {
                    const ih = oh * s - p + i * d, iw = ow * s - p + j * d;
                    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                    const ci = Math.floor(co / coutG) * cinG + c;
                    acc += x[((b * cin + ci) * h + ih) * w + iw] *
                      wt[((co * cinG + c) * k + i) * k + j];
                  }
                }
              }
              const v = got[((b * cout + co) * ho + oh) * wo + ow];
              assert.ok(Math.abs(v - acc) <= 1e-5 * (1 + Math.abs(acc)), `${v} vs ${acc}`);
            }
          }
        }
      }
    },
  ));
});
