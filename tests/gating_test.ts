/**
 * DA³ dynamic gating: the exact bound is sound (gated outputs equal ungated
 * ones while channels really close), the plan orders attention before the
 * conv it gates, the channel-skipping convs equal the full conv, and the
 * calibrated rule behaves at its extremes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { graph, topoSort } from "../lib/graph/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { evalNode } from "../lib/runtime/cpu/mod.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import { da3 } from "../lib/adapt/da3.ts";
import { resnet20 } from "../lib/models/mod.ts";
import { conv2d, convGeometryOf, input, param } from "../lib/graph/mod.ts";
import {
  calibrateGates,
  convChannels,
  convMasked,
  GatingError,
  type GatingMode,
  parseGatingMode,
  planGating,
  runGated,
} from "../lib/gating/mod.ts";

const SIZE = 8;
const MODEL = resnet20({ adaptor: da3().adaptor, classes: 10, batch: 1, size: SIZE });
const G = graph(MODEL.logits);

/**
 * Random backbone and adaptor weights: BN statistics and affine values
 * drawn around their usual ranges, attention weights random, and the
 * attention bias of a random `closing` share of channels strongly negative.
 */
function randomParams(seed: number, closing: number, g = G): ParamStore {
  const p = initParams(g, seed);
  const next = rng(seed * 7919 + 1);
  const u = (a: number, b: number) => a + (b - a) * next();
  for (const [name, v] of p) {
    if (name.endsWith(".running_var")) v.forEach((_, i) => (v[i] = u(0.2, 2)));
    else if (name.endsWith(".running_mean")) v.forEach((_, i) => (v[i] = u(-0.5, 0.5)));
    else if (/(bn\d|downsample\.1)\.weight$/.test(name)) v.forEach((_, i) => (v[i] = u(0.5, 1.5)));
    else if (/(bn\d|downsample\.1)\.bias$/.test(name)) v.forEach((_, i) => (v[i] = u(-0.5, 0.5)));
    else if (name.endsWith("fc2.weight")) v.forEach((_, i) => (v[i] = u(-0.3, 0.3)));
    else if (name.endsWith("fc2.bias")) {
      v.forEach((_, i) => (v[i] = next() < closing ? u(-400, -100) : u(-1, 1)));
    }
  }
  return p;
}

function sample(seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: 3 * SIZE * SIZE }, () => 4 * next() - 2);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** Exact gating of `model` returns the ungated logits, and gates do close. */
function checkExactGating(model: typeof MODEL): void {
  const g = graph(model.logits);
  let runs = 0, closedRuns = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.integer({ min: 0, max: 80 }),
      (pSeed, xSeed, percent) => {
        const params = randomParams(pSeed, percent / 100, g);
        const x = sample(xSeed);
        const [ref] = executeCpu(g, { inputs: { x }, params }) as Float32Array[];
        const plan = planGating(model, params, "exact");
        const r = runGated(plan, params, x);
        const scale = 1 + ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        assert.ok(
          maxAbsDiff(r.logits, ref) <= 1e-4 * scale,
          `logits differ by ${maxAbsDiff(r.logits, ref)} (scale ${scale})`,
        );
        const closed = plan.gated.reduce((s, p, k) => s + p.tables.outChannels - r.open[k], 0);
        runs++;
        if (closed > 0) closedRuns++;
      },
    ),
    { numRuns: 60, seed: 42 },
  );
  assert.ok(closedRuns >= 0.4 * runs, `channels closed in only ${closedRuns} of ${runs} cases`);
}

Deno.test("exact gating equals ungated inference, and gates do close", () => {
  checkExactGating(MODEL);
});

Deno.test("exact gating of a grid attention (a per-cell term) equals ungated inference", () => {
  checkExactGating(
    resnet20({ adaptor: da3({ grid: 2 }).adaptor, classes: 10, batch: 1, size: SIZE }),
  );
});

Deno.test("exact-l1 never closes a channel the interval bound keeps open, and is sound", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 30 }), (seed) => {
      const params = randomParams(seed, 0.5);
      const x = sample(seed + 1);
      const exact = runGated(planGating(MODEL, params, "exact"), params, x);
      const l1 = runGated(planGating(MODEL, params, "exact-l1"), params, x);
      const [ref] = executeCpu(G, { inputs: { x }, params }) as Float32Array[];
      const scale = 1 + ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(maxAbsDiff(l1.logits, ref) <= 1e-4 * scale);
      exact.open.forEach((o, k) => assert.ok(l1.open[k] >= o, `pair ${k}: ${l1.open[k]} < ${o}`));
    }),
    { numRuns: 15, seed: 7 },
  );
});

Deno.test("the plan runs every attention term before the conv it gates", () => {
  const params = randomParams(3, 0.3);
  const plan = planGating(MODEL, params, "exact");
  assert.equal(plan.gated.length, 9, "ResNet-20 has nine gateable pairs (conv1 of each block)");
  const at = new Map(plan.order.map((n, i) => [n, i]));
  for (const p of plan.gated) {
    assert.ok(at.get(p.attention)! < at.get(p.conv)!, `${p.pair.conv}: attention after conv`);
    assert.ok(p.readers.length === 1 && at.get(p.activation)! < at.get(p.readers[0])!);
  }
  // Without the extra edges the graph's own order runs the conv first.
  const plain = new Map(topoSort(G.outputs).map((n, i) => [n, i]));
  assert.ok(plan.gated.some((p) => plain.get(p.attention)! > plain.get(p.conv)!));
  assert.equal(new Set(plan.order).size, G.nodes.length);
});

Deno.test("gating off runs the reference kernels: bit-identical to executeCpu", () => {
  const params = randomParams(5, 0.3);
  const x = sample(11);
  const [ref] = executeCpu(G, { inputs: { x }, params }) as Float32Array[];
  const r = runGated(planGating(MODEL, params, "off"), params, x);
  assert.deepEqual(r.logits, ref);
  assert.deepEqual(r.open, []);
});

Deno.test("compacted and masked convs equal the full conv on the open channels", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1 << 30 }),
      fc.constantFrom(1, 3),
      fc.constantFrom(1, 2),
      (seed, k, stride) => {
        const next = rng(seed);
        const cin = 1 + Math.floor(next() * 6), cout = 1 + Math.floor(next() * 7), h = 5;
        const pad = (k - 1) / 2;
        const xs = Float32Array.from({ length: cin * h * h }, () => next() - 0.5);
        const ws = Float32Array.from({ length: cout * cin * k * k }, () => next() - 0.5);
        const inOpen = Uint8Array.from({ length: cin }, () => (next() < 0.6 ? 1 : 0));
        const outOpen = Uint8Array.from({ length: cout }, () => (next() < 0.6 ? 1 : 0));
        xs.forEach((_, i) => {
          if (!inOpen[Math.floor(i / (h * h))]) xs[i] = 0;
        });
        const node = conv2d(input("x", [1, cin, h, h]), param("w", [cout, cin, k, k]), {
          stride,
          padding: pad,
        });
        const full = evalNode(node, [xs, ws]) as Float32Array;
        const g = convGeometryOf(node);
        const ins = Int32Array.from([...inOpen.keys()].filter((i) => inOpen[i]));
        const outs = Int32Array.from([...outOpen.keys()].filter((o) => outOpen[o]));
        const compact = convChannels(g, xs, ws, ins, outs);
        const masked = convMasked(g, xs, ws, inOpen, outOpen);
        const plane = g.y[2] * g.y[3];
        outs.forEach((o, r) => {
          for (let q = 0; q < plane; q++) {
            assert.ok(Math.abs(compact[r * plane + q] - full[o * plane + q]) < 1e-5);
          }
        });
        for (let o = 0; o < cout; o++) {
          for (let q = 0; q < plane; q++) {
            const want = outOpen[o] ? full[o * plane + q] : 0;
            assert.ok(Math.abs(masked[o * plane + q] - want) < 1e-5);
          }
        }
      },
    ),
    { numRuns: 100, seed: 1 },
  );
});

Deno.test("calibrated gating: τ very low closes nothing, τ very high closes everything", () => {
  const params = randomParams(9, 0.2);
  const samples = new Float32Array(4 * 3 * SIZE * SIZE);
  for (let s = 0; s < 4; s++) samples.set(sample(100 + s), s * 3 * SIZE * SIZE);
  const calibration = calibrateGates(MODEL, params, samples);
  assert.equal(calibration.samples, 4);
  for (const k of calibration.kappa.values()) assert.ok(k.every((v) => v <= 1));
  const x = sample(200);
  const [ref] = executeCpu(G, { inputs: { x }, params }) as Float32Array[];
  const low = runGated(planGating(MODEL, params, { tau: -1e9 }, { calibration }), params, x);
  assert.ok(maxAbsDiff(low.logits, ref) < 1e-4 * (1 + Math.max(...ref.map(Math.abs))));
  const plan = planGating(MODEL, params, { tau: 1e9 }, { calibration });
  assert.ok(runGated(plan, params, x).open.every((o) => o === 0));
  assert.throws(() => planGating(MODEL, params, { tau: 0 }), GatingError);
});

Deno.test("gating modes parse from the command line and reject nonsense", () => {
  assert.equal(parseGatingMode("exact"), "exact");
  assert.equal(parseGatingMode("off"), "off");
  assert.deepEqual(parseGatingMode("0.25"), { tau: 0.25 } satisfies GatingMode);
  assert.deepEqual(parseGatingMode("-1"), { tau: -1 });
  assert.throws(() => parseGatingMode("fast"), GatingError);
  assert.throws(() => parseGatingMode(""), GatingError);
});

Deno.test("the channel-list kernel with every channel open matches the reference conv", () => {
  const params = randomParams(6, 0.3);
  const x = sample(12);
  const [ref] = executeCpu(G, { inputs: { x }, params }) as Float32Array[];
  const r = runGated(planGating(MODEL, params, "off"), params, x, { denseConv: "lists" });
  assert.ok(maxAbsDiff(r.logits, ref) < 1e-4 * (1 + Math.max(...ref.map(Math.abs))));
});

Deno.test("open gating runs the gated executor with every channel open", () => {
  const params = randomParams(8, 0.5);
  const x = sample(13);
  const [ref] = executeCpu(G, { inputs: { x }, params }) as Float32Array[];
  const plan = planGating(MODEL, params, "open");
  const r = runGated(plan, params, x);
  assert.deepEqual(r.open, plan.gated.map((p) => p.tables.outChannels));
  assert.ok(maxAbsDiff(r.logits, ref) < 1e-4 * (1 + Math.max(...ref.map(Math.abs))));
});
