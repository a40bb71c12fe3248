/**
 * Parity of every op, forward and backward, between the WebGPU runtime and
 * the CPU reference on random shapes (odd sizes, stride/padding/dilation/
 * groups edge cases). Tolerance for f32: |gpu − cpu| ≤ 1e-4·(1 + |cpu|);
 * masks, u8 indices and i32 values must be equal.
 *
 * These tests need a WebGPU adapter and fail with NoAdapterError without one
 * (Mesa's `mesa-vulkan-drivers` provides a CPU adapter).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  avgPool2d,
  batchNorm,
  broadcastTo,
  channelMean,
  conv2d,
  conv2dBn,
  conv2dGradInput,
  conv2dGradWeight,
  convAttrsOf,
  crop2d,
  fill,
  globalAvgPool,
  type Graph,
  graph,
  GraphError,
  input,
  matmul,
  maxPool2d,
  mean,
  mul,
  node,
  numel,
  OP_NAMES,
  type OpName,
  param,
  relu,
  relu6,
  relu6Mask,
  reluGrad,
  reluMask,
  reshape,
  scale,
  type Shape,
  sigmoid,
  softmaxCrossEntropy,
  sumTo,
  type Tensor,
  upsampleNearest,
  zeroPad2d,
} from "../lib/graph/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { rng } from "../lib/runtime/params.ts";
import { grad } from "../lib/autodiff/mod.ts";
import { sigmoidGrad } from "../lib/graph/ops/sigmoid.ts";
import {
  batchNormBatchGradInput,
  batchNormGradGamma,
  batchNormGradInput,
} from "../lib/graph/ops/batch_norm.ts";
import { createWebGpuRuntime, type WebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { planGraph } from "../lib/plan/plan.ts";
import { runGraph } from "../lib/runtime/run_graph.ts";
import { CPU_TARGET } from "../lib/plan/types.ts";
import { lower, LOWERINGS } from "../lib/runtime/webgpu/lower.ts";
import { DeviceLostError, LimitError, UnsupportedOpError } from "../lib/runtime/webgpu/errors.ts";

let shared: Promise<WebGpuRuntime> | null = null;

/** One runtime for the whole file, so pipelines compile once per shape. */
function runtime(): Promise<WebGpuRuntime> {
  shared ??= createWebGpuRuntime({ maxCachedPlans: 2 });
  return shared;
}

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

const RUNS = 25;

/** Random f32 values in [-2, 2]; a third of the arrays are quantised to quarters (ties, zeros). */
function values(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const coarse = seed % 3 === 0;
  return Float32Array.from({ length: n }, () => {
    const v = 4 * next() - 2;
    return coarse ? Math.round(v * 4) / 4 : v;
  });
}

/** Feeds for every input and param of `g` from one seed; `positive` names get values in [0.1, 2]. */
function feedsFor(g: Graph, seed: number, positive: readonly string[] = []) {
  const inputs: Record<string, TensorData> = {};
  const params = new Map<string, Float32Array>();
  g.nodes.forEach((n, k) => {
    const name = String(n.attrs.name);
    const size = numel(n.shape);
    if (n.op === "input" && n.dtype === "i32") {
      const next = rng(seed + k);
      const classes = n.attrs.classes as number;
      inputs[name] = Int32Array.from({ length: size }, () => Math.floor(next() * classes));
    } else if (n.op === "input") inputs[name] = values(size, seed + k);
    else if (n.op === "param") {
      const v = values(size, seed + 7 * k);
      params.set(name, positive.includes(name) ? v.map((x) => 0.1 + Math.abs(x) * 0.95) : v);
    }
  });
  return { inputs, params };
}

/** Runs `g` on both runtimes and asserts parity output by output. */
async function same(g: Graph, seed: number, positive: readonly string[] = []): Promise<void> {
  const feeds = feedsFor(g, seed, positive);
  const rt = await runtime();
  const gpu = await runGraph(rt, g, feeds);
  const cpu = executeCpu(g, feeds);
  cpu.forEach((c, i) => {
    const o = g.outputs[i];
    const what = `${o.op} ${o.dtype}[${o.shape}] (output ${i})`;
    assert.equal(gpu[i].constructor, c.constructor, what);
    assert.equal(gpu[i].length, c.length, what);
    for (let j = 0; j < c.length; j++) {
      const [a, b] = [gpu[i][j], c[j]];
      if (o.dtype !== "f32") {
        if (a !== b) assert.fail(`${what}[${j}]: gpu ${a} != cpu ${b}`);
      } else if (!(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)))) {
        assert.fail(`${what}[${j}]: gpu ${a} vs cpu ${b}`);
      }
    }
  });
}

const dim = fc.integer({ min: 1, max: 9 });
const shape = (maxRank: number) => fc.array(dim, { minLength: 0, maxLength: maxRank });
const seed = fc.integer({ min: 1, max: 1 << 30 });

gpuTest("every op but the fed sources has a WebGPU lowering", () => {
  const missing = OP_NAMES.filter((op) => op !== "input" && op !== "param" && !LOWERINGS[op]);
  assert.deepEqual(missing, []);
  assert.equal(LOWERINGS.input, null);
  assert.equal(LOWERINGS.param, null);
  return Promise.resolve();
});

gpuTest(
  "elementwise: relu, reluMask, reluGrad, relu6(+mask), sigmoid(+grad), scale, fill, reshape, binarize",
  async () => {
    await fc.assert(
      fc.asyncProperty(
        shape(4),
        fc.double({ min: -3, max: 3, noNaN: true }),
        seed,
        async (s, k, sd) => {
          const x = input("x", s);
          const dy = input("dy", s);
          const y = sigmoid(x);
          const outs = [
            relu(x),
            reluMask(x),
            reluGrad(dy, reluMask(x)),
            relu6(scale(x, 3)),
            relu6Mask(scale(x, 3)),
            y,
            sigmoidGrad(dy, y),
            scale(x, k),
            fill(s, k),
            reshape(x, [numel(s)]),
            node("binarize", [x], s, { threshold: k }),
            node("binarize", [x], s, { threshold: 0.1 }),
            node("binarize", [x], s, { threshold: 0.25 }),
          ];
          await same(graph(...outs), sd);
        },
      ),
      { numRuns: RUNS },
    );
  },
);

gpuTest("zeroPad2d and crop2d: any border on any side", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(dim, { minLength: 4, maxLength: 4 }),
      fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
      seed,
      async (s, pads, sd) => {
        const x = input("x", s);
        const y = zeroPad2d(x, pads);
        await same(graph(y, crop2d(input("dy", y.shape), pads, s)), sd);
      },
    ),
    { numRuns: RUNS },
  );
});

/** An operand that broadcasts onto `out`: some axes squashed to 1, some leading axes dropped. */
const operand = (out: Shape) =>
  fc.tuple(
    fc.integer({ min: 0, max: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
  ).map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop) as Shape);

/** A shape and two operands that broadcast onto it. */
const broadcastable = shape(4).chain((out) =>
  fc.tuple(operand(out), operand(out)).map(([a, b]) => ({ out: out as Shape, a, b }))
);

gpuTest("broadcast: add, mul, sumTo, broadcastTo", async () => {
  await fc.assert(
    fc.asyncProperty(broadcastable, fc.double({ min: -2, max: 2, noNaN: true }), seed, async (
      { out, a, b },
      k,
      sd,
    ) => {
      const xa = input("a", a), xb = input("b", b), full = input("full", out);
      const sum = add(xa, xb);
      const outs = [
        sum,
        mul(xa, xb),
        add(full, xb),
        sumTo(full, a),
        sumTo(full, b),
        broadcastTo(xa, sum.shape, k),
      ];
      await same(graph(...outs), sd);
    }),
    { numRuns: RUNS },
  );
});

gpuTest(
  "vec4 paths: per-channel broadcasts, trailing sums, pools over planes, ReLU masks",
  async () => {
    const planes = fc.tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 64, max: 72 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 3 }).map((w) => 4 * w),
    );
    await fc.assert(
      fc.asyncProperty(
        planes,
        fc.double({ min: -2, max: 2, noNaN: true }),
        seed,
        async (s, k, sd) => {
          const [n, c, h, w] = s;
          const full = input("full", s), other = input("other", s);
          const perChannel = input("pc", [n, c, 1, 1]), row = input("row", [w]);
          const words = input("words", [n, 32, h, w]);
          const outs = [
            add(full, other),
            add(full, perChannel),
            mul(perChannel, full),
            add(row, full),
            broadcastTo(perChannel, s, k),
            broadcastTo(row, s, 1),
            sumTo(full, [n, c, 1, 1]),
            sumTo(full, [n, c, h, 1]),
            globalAvgPool(full),
            relu(full),
            reluGrad(other, reluMask(full)),
            reluMask(words),
            reluGrad(input("dw", words.shape), reluMask(words)),
          ];
          assert.ok(n * c >= 64 && (h * w) % 4 === 0);
          await same(graph(...outs), sd);
        },
      ),
      { numRuns: RUNS },
    );
  },
);

/**
 * Batch-norm shapes with at least 3 values per channel: with 1 or 2 the
 * batch-statistics input gradient is exactly zero in real arithmetic, so
 * both runtimes would only be compared on their rounding noise (amplified
 * by γ/σ).
 */
const bnShape = fc.oneof(
  fc.tuple(dim, dim).map((s) => s as Shape),
  fc.tuple(dim, dim, dim, dim).map((s) => s as Shape),
).filter((s) => s.reduce((a, b) => a * b, 1) / s[1] >= 3);

gpuTest("batchNorm: eval and batch forward, input and gamma gradients", async () => {
  await fc.assert(
    fc.asyncProperty(bnShape, seed, async (s, sd) => {
      const c = s[1];
      const x = input("x", s), dy = input("dy", s);
      const p = {
        gamma: param("gamma", [c]),
        beta: param("beta", [c]),
        mean: param("mean", [c]),
        variance: param("var", [c]),
      };
      const eps = 1e-5;
      const outs = [
        batchNorm(x, p, { mode: "eval" }),
        batchNorm(x, p, { mode: "batch", eps: 1e-3 }),
        batchNormGradInput(dy, p.gamma, p.variance, eps),
        batchNormBatchGradInput(dy, x, p.gamma, eps),
        batchNormGradGamma(dy, x, [p.mean, p.variance], "eval", eps),
        batchNormGradGamma(dy, x, [], "batch", eps),
      ];
      await same(graph(...outs), sd, ["var"]);
    }),
    { numRuns: RUNS },
  );
});

/** Pool windows that fit: padding ≤ kernel/2, output ≥ 1. */
const poolCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 4 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }),
  sw: fc.integer({ min: 1, max: 3 }),
  extraH: fc.integer({ min: 0, max: 7 }),
  extraW: fc.integer({ min: 0, max: 7 }),
  padH: fc.boolean(),
  padW: fc.boolean(),
});

gpuTest("pool: avg/max forward, gradients, u8 argmax indices", async () => {
  await fc.assert(
    fc.asyncProperty(poolCase, seed, async (p, sd) => {
      const padding = [
        p.padH ? Math.floor(p.kh / 2) : 0,
        p.padW ? Math.floor(p.kw / 2) : 0,
      ] as const;
      const h = Math.max(1, p.kh - 2 * padding[0]) + p.extraH;
      const w = Math.max(1, p.kw - 2 * padding[1]) + p.extraW;
      const x = input("x", [p.n, p.c, h, w]);
      const o = { kernel: [p.kh, p.kw] as const, stride: [p.sh, p.sw] as const, padding };
      const avg = avgPool2d(x, o), max = maxPool2d(x, o);
      const dy = input("dy", avg.shape);
      const idx = node("maxPool2dIndices", [x], max.shape, max.attrs, "u8");
      const outs = [
        avg,
        max,
        idx,
        node("avgPool2dGrad", [dy], x.shape, avg.attrs),
        node("maxPool2dGrad", [dy, idx], x.shape, max.attrs),
      ];
      await same(graph(...outs), sd);
    }),
    { numRuns: RUNS },
  );
});

gpuTest("reduce: globalAvgPool, channelMean, mean, upsampleNearest(+grad)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(dim, dim, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
      fc.integer({ min: 1, max: 3 }),
      seed,
      async (s, f, sd) => {
        const x = input("x", s);
        const up = upsampleNearest(x, f);
        const dy = input("dy", up.shape);
        const outs = [
          globalAvgPool(x),
          channelMean(x),
          mean(x),
          up,
          node("upsampleNearestGrad", [dy], x.shape, up.attrs),
        ];
        await same(graph(...outs), sd);
      },
    ),
    { numRuns: RUNS },
  );
});

gpuTest("loss: softmaxCrossEntropy and its gradient (i32 labels)", async () => {
  await fc.assert(
    fc.asyncProperty(dim, fc.integer({ min: 1, max: 40 }), seed, async (n, k, sd) => {
      const logits = input("logits", [n, k]);
      const labels = node("input", [], [n], { name: "labels", classes: k }, "i32");
      const l = softmaxCrossEntropy(logits, labels);
      const dl = input("dl", []);
      const outs = [l, node("softmaxCrossEntropyGrad", [logits, labels, dl], [n, k]), labels];
      await same(graph(...outs), sd);
    }),
    { numRuns: RUNS },
  );
});

gpuTest("matmul: all four transpose combinations", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), dim),
      seed,
      async ([m, k, n], sd) => {
        const outs = [false, true].flatMap((ta) =>
          [false, true].map((tb) => {
            const a = input(`a${+ta}${+tb}`, ta ? [k, m] : [m, k]);
            const b = input(`b${+ta}${+tb}`, tb ? [n, k] : [k, n]);
            return matmul(a, b, { transA: ta, transB: tb });
          })
        );
        await same(graph(...outs), sd);
      },
    ),
    { numRuns: RUNS },
  );
});

/** Convolutions that fit, with groups, stride, padding and dilation. */
const convCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cinG: fc.integer({ min: 1, max: 3 }),
  coutG: fc.constantFrom(1, 2, 3, 4, 8),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })),
});

gpuTest(
  "conv2d: forward, input (plain and summed into a base) and weight gradients (stride, padding, dilation, groups)",
  async () => {
    await fc.assert(
      fc.asyncProperty(convCase, seed, async (p, sd) => {
        const span = (k: number, d: number, pad: number) => Math.max(1, d * (k - 1) + 1 - 2 * pad);
        const h = span(p.kh, p.dilation[0], p.padding[0]) + p.extra[0];
        const w = span(p.kw, p.dilation[1], p.padding[1]) + p.extra[1];
        const x = input("x", [p.n, p.cinG * p.groups, h, w]);
        const wt = input("w", [p.coutG * p.groups, p.cinG, p.kh, p.kw]);
        const o = { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
        const y = conv2d(x, wt, o);
        const dy = input("dy", y.shape);
        const a = { ...o } as unknown as Parameters<typeof conv2dGradInput>[2];
        const base = input("base", x.shape);
        const outs = [
          y,
          conv2dGradInput(dy, wt, a, x.shape),
          conv2dGradWeight(x, dy, a, wt.shape),
          conv2dGradInput(dy, wt, a, x.shape, base),
        ];
        await same(graph(...outs), sd);
      }),
      { numRuns: RUNS },
    );
  },
);

/** Depthwise convs over planes wide and tall enough for several strips per plane. */
const depthwiseCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 6 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
  same: fc.boolean(),
});

gpuTest(
  "depthwise conv2d (groups = channels): forward, input (plain and into a base) and weight gradients, also the TF 'same' stride-2 form",
  async () => {
    await fc.assert(
      fc.asyncProperty(depthwiseCase, seed, async (p, sd) => {
        // MobileNetV2's stride-2 form: a 3×3 filter zero-padded to 4×4 at the top and left, pad 1.
        const [kh, kw] = p.same ? [4, 4] : [p.kh, p.kw];
        const o = convAttrsOf(
          p.same
            ? { stride: 2, padding: 1, groups: p.c }
            : { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.c },
        );
        const span = (k: number, d: number, pad: number) => Math.max(1, d * (k - 1) + 1 - 2 * pad);
        const h = span(kh, o.dilation[0], o.padding[0]) + p.extra[0];
        const w = span(kw, o.dilation[1], o.padding[1]) + p.extra[1];
        const x = input("x", [p.n, p.c, h, w]);
        const wt = p.same
          ? zeroPad2d(input("w", [p.c, 1, 3, 3]), [1, 0, 1, 0])
          : input("w", [p.c, 1, kh, kw]);
        const y = conv2d(x, wt, o);
        const dy = input("dy", y.shape);
        const outs = [
          y,
          conv2dGradInput(dy, wt, o, x.shape),
          conv2dGradWeight(x, dy, o, wt.shape),
          conv2dGradInput(dy, wt, o, x.shape, input("base", x.shape)),
        ];
        await same(graph(...outs), sd);
      }),
      { numRuns: RUNS },
    );
  },
);

gpuTest(
  "depthwise conv2d with a batch norm and addends in its epilogue, and its input gradient of dy scaled by the batch norm",
  async () => {
    await fc.assert(
      fc.asyncProperty(
        depthwiseCase,
        fc.subarray(["full", "channel"] as const),
        seed,
        async (p, addends, sd) => {
          const [kh, kw] = [p.kh, p.kw];
          const o = convAttrsOf({
            stride: p.stride,
            padding: p.padding,
            dilation: p.dilation,
            groups: p.c,
          });
          const span = (k: number, d: number, pad: number) =>
            Math.max(1, d * (k - 1) + 1 - 2 * pad);
          const h = span(kh, o.dilation[0], o.padding[0]) + p.extra[0];
          const w = span(kw, o.dilation[1], o.padding[1]) + p.extra[1];
          const x = input("x", [p.n, p.c, h, w]);
          const wt = param("w", [p.c, 1, kh, kw]);
          const bn = {
            gamma: param("gamma", [p.c]),
            beta: param("beta", [p.c]),
            mean: param("mean", [p.c]),
            variance: param("var", [p.c]),
          };
          const y0 = conv2d(x, wt, o);
          const adds = addends.map((a, k) =>
            input(`a${k}`, a === "full" ? y0.shape : [p.n, p.c, 1, 1])
          );
          const y = conv2dBn(x, wt, o, bn, 1e-3, adds);
          const dy = input("dy", y.shape);
          const scale = { gamma: bn.gamma, variance: bn.variance, eps: 1e-3 };
          const outs = [
            y,
            conv2dGradInput(dy, wt, o, x.shape, undefined, scale),
            conv2dGradInput(dy, wt, o, x.shape, input("base", x.shape), scale),
          ];
          await same(graph(...outs), sd, ["var"]);
        },
      ),
      { numRuns: RUNS },
    );
  },
);

Deno.test("depthwise convs lower to the depthwise kernels, other grouped convs to the general ones", () => {
  const names = (groups: number, cout: number) => {
    const x = input("x", [2, 4, 9, 9]);
    const wt = input("w", [cout, 4 / groups, 3, 3]);
    const o = convAttrsOf({ stride: 2, padding: 1, groups });
    const y = conv2d(x, wt, o);
    const dy = input("dy", y.shape);
    return [y, conv2dGradInput(dy, wt, o, x.shape), conv2dGradWeight(x, dy, o, wt.shape)]
      .map((t) => lower(t).kernels.map((k) => k.name.split("_")[0]).join("+"));
  };
  assert.deepEqual(names(4, 4), [
    "depthwise",
    "depthwiseGradInput",
    "depthwiseGradWeightParts+depthwiseGradWeightSum",
  ]);
  assert.deepEqual(names(4, 8), ["conv2d", "conv2dGradInput", "conv2dGradWeight"]);
  const bn = {
    gamma: param("g", [4]),
    beta: param("b", [4]),
    mean: param("m", [4]),
    variance: param("v", [4]),
  };
  const fused = (groups: number) =>
    lower(
      conv2dBn(
        input("x", [1, 4, 8, 8]),
        input("w", [4, 4 / groups, 3, 3]),
        convAttrsOf({ groups }),
        bn,
        1e-3,
      ),
    )
      .kernels[0].name.split("_")[0];
  assert.deepEqual([fused(4), fused(1)], ["depthwiseBn", "conv2dBn"]);
  assert.deepEqual(names(2, 4), ["conv2d", "conv2dGradInput", "conv2dGradWeight"]);
});

gpuTest(
  "a whole gradient graph: outputs that are params or inputs come back unchanged",
  async () => {
    const x = input("x", [2, 3]);
    const w = param("w", [4, 3]);
    const loss = mean(relu(matmul(x, w, { transB: true })));
    const g = grad(loss);
    await same(graph(...g.graph.outputs, x, w as Tensor), 11);
  },
);

gpuTest("planned arena: in-place chains (binding aliasing) give the CPU's values", async () => {
  const x = input("x", [300]);
  const b = input("b", [1]);
  const y = scale(relu(add(mul(x, x), b)), 2);
  const g = graph(mean(sigmoid(y)), reluMask(y));
  const plan = planGraph(g, CPU_TARGET);
  assert.ok(plan.values.filter((v) => v.inPlaceOf !== undefined).length >= 3);
  await same(g, 5);
});

gpuTest("a node of an unknown op throws a GraphError naming it", async () => {
  const rt = await runtime();
  const x = input("x", [4]);
  // Every op has a lowering by type: only a node built past the type system can lack one.
  const g = graph(node("noSuchOp" as OpName, [x], [4]));
  await assert.rejects(
    runGraph(rt, g, { inputs: { x: new Float32Array(4) }, params: new Map() }),
    (e: unknown) => e instanceof GraphError && /"noSuchOp"/.test(e.message),
  );
});

gpuTest("lowering a fed source is an UnsupportedOpError naming it", () => {
  assert.throws(
    () => lower(input("x", [4])),
    (e: unknown) => e instanceof UnsupportedOpError && e.op === "input",
  );
  return Promise.resolve();
});

gpuTest("a value larger than maxStorageBufferBindingSize throws LimitError naming it", async () => {
  const rt = await runtime();
  const max = rt.device.limits.maxStorageBufferBindingSize;
  const x = input("huge", [Math.floor(max / 4) + 1]);
  const g = graph(relu(x));
  await assert.rejects(
    runGraph(rt, g, { inputs: {}, params: new Map() }),
    (e: unknown) =>
      e instanceof LimitError && e.limit === "maxStorageBufferBindingSize" &&
      /huge/.test(e.message),
  );
});

gpuTest("a lost device throws DeviceLostError and leaves host params intact", async () => {
  const rt = await createWebGpuRuntime();
  const x = input("x", [3]);
  const w = param("w", [3]);
  const g = graph(mul(x, w));
  const wv = Float32Array.of(1, 2, 3);
  const feeds = { inputs: { x: Float32Array.of(1, 1, 1) }, params: new Map([["w", wv]]) };
  assert.deepEqual([...(await runGraph(rt, g, feeds))[0]], [1, 2, 3]);
  rt.destroy();
  await new Promise((r) => setTimeout(r, 10));
  await assert.rejects(runGraph(rt, g, feeds), DeviceLostError);
  assert.deepEqual([...wv], [1, 2, 3]);
});
