/**
 * Frozen weights at reduced precision on the CPU: the quantisers' error
 * bounds, the kernels that read u8/f16 weights directly (conv2d, its input
 * gradient, matmul) against the f32 kernels on the dequantised values, on
 * the interpreter and on planned execution, the bytes the plan counts, and
 * the feed and read checks.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  conv2d,
  graph,
  GraphError,
  input,
  matmul,
  param,
  type ParamStorage,
  relu,
  type ScaleGranularity,
  type Tensor,
  withFrozenStorage,
} from "../lib/graph/mod.ts";
import { createCpuRuntime, executeCpu, executePlanCpu } from "../lib/runtime/cpu/mod.ts";
import { FeedError, type ParamValue, type TensorData } from "../lib/runtime/data.ts";
import {
  dequantize,
  fromF16Bits,
  quantizeF16,
  quantizeU8,
  toF16Bits,
} from "../lib/runtime/quantized.ts";
import { planGraph } from "../lib/plan/plan.ts";
import { runGraph } from "../lib/runtime/run_graph.ts";
import { quantizedFeed, quantizingRuntime } from "../lib/runtime/quantize_feeds.ts";
import {
  anyConvCase,
  type ConvCase,
  convGraphs,
  matmulCase,
  matmulGraph,
  quantize,
  random,
  storages,
} from "./quantized_cases.ts";

const f16round = (Math as unknown as { f16round(v: number): number }).f16round;

Deno.test("f16: toF16Bits rounds like Math.f16round, fromF16Bits inverts it", () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true }), (v) => {
      assert.equal(fromF16Bits(toF16Bits(v)), f16round(v));
    }),
    { numRuns: 2000 },
  );
  for (let h = 0; h < 0x7c00; h += 7) assert.equal(toF16Bits(fromF16Bits(h)), h);
});

Deno.test("u8: every dequantised value lies within half a step of its source", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 20 }),
      fc.constantFrom<ScaleGranularity>("tensor", "channel"),
      fc.integer(),
      (rows, cols, scales, seed) => {
        const v = random(rows * cols, seed, 3);
        const q = quantizeU8(v, [rows, cols], scales);
        assert.equal(q.scale.length, scales === "tensor" ? 1 : rows);
        const d = dequantize(q);
        const per = v.length / q.scale.length;
        for (let i = 0; i < v.length; i++) {
          const s = q.scale[Math.floor(i / per)];
          assert.ok(Math.abs(d[i] - v[i]) <= s / 2 + 1e-6 * (1 + Math.abs(v[i])), `element ${i}`);
        }
      },
    ),
  );
});

function runBoth(
  outputs: Tensor[],
  inputs: Record<string, TensorData>,
  params: Map<string, ParamValue>,
) {
  const g = graph(...outputs);
  const interpreted = executeCpu(g, { inputs, params });
  const planned = executePlanCpu(planGraph(g), { inputs, params }, { poison: true });
  return { interpreted, planned };
}

/** Equal element by element within `tol`·(1 + |want|). */
function close(got: readonly TensorData[], want: readonly TensorData[], tol: number): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    assert.equal(g.length, want[i].length);
    for (let j = 0; j < g.length; j++) {
      const a = g[j], b = want[i][j];
      assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `output ${i}[${j}]: ${a} vs ${b}`);
    }
  });
}

/**
 * A quantised depthwise weight takes the blocked im2col path while the f32
 * one takes the direct depthwise loops, so sums differ in order there: equal
 * within 1e-5; every other conv is equal exactly (same order of sums).
 */
Deno.test("conv2d and conv2dGradInput (also depthwise) read u8/f16 weights: equal to f32 on the dequantised values", () => {
  fc.assert(
    fc.property(anyConvCase, storages, (c, [storage, scales]) => {
      const q = convGraphs(c, storage, scales);
      const f = convGraphs(c, "f32", "channel");
      const wq = quantize(random(q.ws.reduce((a, b) => a * b), c.seed ^ 7), q.ws, storage, scales);
      const got = runBoth(q.outputs, q.feeds, new Map([["w", wq]]));
      const want = executeCpu(graph(...f.outputs), {
        inputs: f.feeds,
        params: new Map([["w", dequantize(wq)]]),
      });
      const depthwise = c.cinG === 1 && c.coutG === 1;
      if (depthwise) {
        close(got.interpreted, want, 1e-5);
        close(got.planned, want, 1e-5);
      } else {
        assert.deepEqual(got.interpreted, want);
        assert.deepEqual(got.planned, want);
      }
    }),
    { numRuns: 80 },
  );
});

Deno.test("matmul reads a u8/f16 operand (either side, any transposes): equal to f32 on the dequantised values", () => {
  fc.assert(
    fc.property(matmulCase, storages, (c, [storage, scales]) => {
      const q = matmulGraph(c, storage, scales);
      const wq = quantize(random(q.ws[0] * q.ws[1], c.seed), q.ws, storage, scales);
      const got = runBoth(q.outputs, q.feeds, new Map([["w", wq]]));
      const f = matmulGraph(c, "f32", scales);
      const want = executeCpu(graph(...f.outputs), {
        inputs: f.feeds,
        params: new Map([["w", dequantize(wq)]]),
      });
      assert.deepEqual(got.interpreted, want);
      assert.deepEqual(got.planned, want);
    }),
    { numRuns: 100 },
  );
});

Deno.test("the plan counts a parameter's stored bytes: f32 4, f16 2, u8 1 per element plus 8 per scale pair", () => {
  const shape = [24, 3, 3, 3];
  const bytesOf = (storage: ParamStorage, scales: ScaleGranularity) => {
    const w = param("w", shape, { trainable: false, storage, scales });
    return planGraph(graph(conv2d(input("x", [1, 3, 5, 5]), w))).weightBytes;
  };
  assert.equal(bytesOf("f32", "channel"), 648 * 4);
  assert.equal(bytesOf("f16", "channel"), 648 * 2);
  assert.equal(bytesOf("u8", "channel"), 648 + 24 * 8);
  assert.equal(bytesOf("u8", "tensor"), 648 + 8);
  const odd = param("v", [3, 5], { trainable: false, storage: "u8", scales: "tensor" });
  assert.equal(planGraph(graph(matmul(input("x", [2, 3]), odd))).weightBytes, 16 + 8);
});

Deno.test("withFrozenStorage stores frozen conv/linear weights only; every other param stays f32", () => {
  const x = input("x", [2, 3, 6, 6]);
  const frozen = param("conv.weight", [4, 3, 3, 3], { trainable: false });
  const trainable = param("adaptor.weight", [4, 4, 1, 1]);
  const shared = param("shared.weight", [4, 4, 1, 1], { trainable: false });
  const y = conv2d(relu(conv2d(conv2d(x, frozen), trainable)), shared);
  const viaReshape = param("bias", [1, 4, 1, 1], { trainable: false });
  const [out] = withFrozenStorage([y, viaReshape], "u8");
  const byName = new Map(
    graph(out).nodes.filter((n) => n.op === "param").map((n) => [n.attrs.name, n]),
  );
  assert.equal(byName.get("conv.weight")!.attrs.storage, "u8");
  assert.equal(byName.get("conv.weight")!.attrs.scales, "channel");
  assert.equal(byName.get("shared.weight")!.attrs.storage, "u8");
  assert.equal(byName.get("adaptor.weight")!.attrs.storage, undefined);
  assert.deepEqual(withFrozenStorage([y], "f32"), [y]);
});

Deno.test("reduced-precision params: typed errors for a trainable one, a wrong reader, a wrong feed", () => {
  assert.throws(() => param("w", [2, 2], { storage: "u8" }), GraphError);
  const w = param("w", [3, 3], { trainable: false, storage: "f16" });
  assert.throws(() => planGraph(graph(relu(w))), /stored as f16 but relu reads it/);
  const g = graph(matmul(input("x", [2, 3]), w));
  const inputs = { x: new Float32Array(6) };
  assert.throws(
    () => executeCpu(g, { inputs, params: new Map([["w", new Float32Array(9)]]) }),
    (e) => e instanceof FeedError && /stored as f16, got f32/.test(e.message),
  );
  const u8 = quantizeU8(new Float32Array(9), [3, 3]);
  assert.throws(
    () => executeCpu(g, { inputs, params: new Map([["w", u8]]) }),
    (e) => e instanceof FeedError && /expects f16\[3,3\], got u8/.test(e.message),
  );
  const f = graph(matmul(input("x", [2, 3]), param("v", [3, 3], { trainable: false })));
  assert.throws(
    () =>
      executeCpu(f, { inputs, params: new Map([["v", quantizeF16(new Float32Array(9), [3, 3])]]) }),
    (e) => e instanceof FeedError && /stored as f32, got a f16 tensor/.test(e.message),
  );
});

Deno.test("quantizingRuntime feeds each reduced-precision param its quantised f32 value, quantised once", async () => {
  const c: ConvCase = {
    n: 2,
    groups: 1,
    cinG: 3,
    coutG: 5,
    h: 5,
    w: 4,
    k: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
    seed: 3,
  };
  const q = convGraphs(c, "u8", "channel");
  const w = random(q.ws.reduce((a, b) => a * b), 11);
  const g = graph(...q.outputs);
  const rt = quantizingRuntime(createCpuRuntime());
  const got = await runGraph(rt, g, { inputs: q.feeds, params: new Map([["w", w]]) });
  const want = executeCpu(g, { inputs: q.feeds, params: new Map([["w", quantizeU8(w, q.ws)]]) });
  assert.deepEqual(got, want);
  const p = g.nodes.find((n) => n.op === "param")!;
  assert.equal(quantizedFeed(p, w), quantizedFeed(p, w));
  const f = convGraphs(c, "f32", "channel");
  const plain = await runGraph(rt, graph(...f.outputs), {
    inputs: f.feeds,
    params: new Map([["w", w]]),
  });
  assert.deepEqual(
    plain,
    executeCpu(graph(...f.outputs), { inputs: f.feeds, params: new Map([["w", w]]) }),
  );
  assert.notDeepEqual(plain, got);
});
