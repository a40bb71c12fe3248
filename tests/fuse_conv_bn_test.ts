/**
 * Frozen batch norms and the adds after them folded into the convolution
 * (`fuseConvBn`, `conv2dBn`, the scaled `conv2dGradInput`): the rewrite's
 * shape, bit-identical losses and gradients on the CPU interpreter and on
 * the planned CPU runtime over random conv→BN chains and ResNet-50 under
 * DA³ and TinyTL, the plan invariants, and a smaller ResNet-50 DA³ arena.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { grad, type GradResult, withOptimizer } from "../lib/autodiff/mod.ts";
import {
  add,
  batchNorm,
  conv2d,
  conv2dBn,
  convAttrsOf,
  fuseConvBn,
  input,
  mean,
  mul,
  OPTIMIZER_STEP_INPUT,
  optimizerStepValues,
  param,
  relu,
  ShapeError,
  type Tensor,
} from "../lib/graph/mod.ts";
import { CPU_TARGET, planGraph } from "../lib/plan/mod.ts";
import type { Feeds, TensorData } from "../lib/runtime/data.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { createCpuRuntime } from "../lib/runtime/cpu/runtime.ts";
import { rng } from "../lib/runtime/params.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20, resnet50 } from "../lib/models/mod.ts";
import { randomFeeds } from "./plan_dags.ts";
import { checkPlan } from "./plan_check.ts";

function assertIdentical(a: readonly TensorData[], b: readonly TensorData[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, k) => {
    assert.equal(x.length, b[k].length, `${what}: output ${k}`);
    x.forEach((v, i) =>
      assert.ok(Object.is(v, b[k][i]), `${what}: output ${k}[${i}] ${v} vs ${b[k][i]}`)
    );
  });
}

/** Feeds with every parameter random (variances positive), so batch norms and adaptors matter. */
function richFeeds(g: GradResult, seed: number): Feeds {
  const feeds = randomFeeds(g.graph, seed);
  const next = rng(seed + 1);
  // By name, so that graphs listing their parameters in another order get the same values.
  for (const [name, v] of [...feeds.params].sort(([a], [b]) => a.localeCompare(b))) {
    if (!(v instanceof Float32Array)) continue;
    const variance = /running_var|var$/.test(name);
    v.forEach((_, i) => (v[i] = variance ? 0.5 + next() : 2 * next() - 1));
  }
  return feeds;
}

/**
 * Same bits from `plain` on the interpreter as from `fused` there (unless
 * `interpret` is false) and from `fused`'s plan on the poisoning runtime.
 */
async function sameBits(
  fused: GradResult,
  plain: GradResult,
  seed: number,
  what: string,
  interpret = true,
) {
  const feeds = richFeeds(plain, seed);
  const expected = executeCpu(plain.graph, feeds);
  if (interpret) assertIdentical(executeCpu(fused.graph, feeds), expected, `${what}: interpreter`);
  const plan = planGraph(fused, CPU_TARGET);
  checkPlan(plan);
  const rt = createCpuRuntime({ poison: true });
  assert.equal(rt.prepared(plan).arena.byteLength, plan.arenaBytes, `${what}: one arena`);
  assertIdentical(await rt.execute(plan, feeds), expected, `${what}: planned`);
  return plan;
}

const frozen = (name: string, shape: number[]) => param(name, shape, { trainable: false });
const bnParams = (p: string, c: number, beta = false) => ({
  gamma: frozen(`${p}.g`, [c]),
  beta: param(`${p}.b`, [c], { trainable: beta }),
  mean: frozen(`${p}.m`, [c]),
  variance: frozen(`${p}.var`, [c]),
});

Deno.test("fuseConvBn: conv→BN→adds become one conv2dBn; shared, trainable-γ and batch-mode stay", () => {
  const x = input("x", [2, 3, 6, 6]);
  const w = frozen("w", [4, 3, 3, 3]);
  const bn = bnParams("bn", 4);
  const attention = input("a", [2, 4, 1, 1]);
  const residual = input("r", [2, 4, 6, 6]);
  const y = add(add(batchNorm(conv2d(x, w, { padding: 1 }), bn), attention), residual);
  const [f] = fuseConvBn([relu(y)]);
  const fused = f.inputs[0];
  assert.equal(fused.op, "conv2dBn");
  assert.deepEqual(fused.inputs.slice(6), [attention, residual]);
  assert.deepEqual(fused.inputs.slice(0, 2), [x, w]);
  const c = conv2d(x, w, { padding: 1 });
  const [shared] = fuseConvBn([add(batchNorm(c, bn), c)]);
  assert.equal(shared.op, "add", "a conv read twice keeps its batch norm");
  const trainableGamma = { ...bn, gamma: param("tg", [4]) };
  assert.equal(fuseConvBn([batchNorm(conv2d(x, w), trainableGamma)])[0].op, "batchNorm");
  assert.equal(fuseConvBn([batchNorm(conv2d(x, w), bn, { mode: "batch" })])[0].op, "batchNorm");
  const [odd] = fuseConvBn([add(batchNorm(conv2d(x, w), bn), input("o", [1, 4, 1, 1]))]);
  assert.equal(odd.op, "add", "a [1,C,1,1] operand is not an addend");
  // Both operands fused: the conv with the larger input takes the sum (it runs last).
  const small = input("s", [2, 3, 3, 3]);
  const big = conv2d(input("big", [2, 3, 12, 12]), frozen("w2", [4, 3, 1, 1]), { stride: 4 });
  const main = batchNorm(conv2d(small, w, { padding: 1 }), bn);
  const [both] = fuseConvBn([add(main, batchNorm(big, bnParams("bn2", 4)))]);
  assert.equal(both.op, "conv2dBn");
  assert.equal(both.inputs[0].shape[2], 12);
  assert.equal(both.inputs[6].op, "conv2dBn");
  assert.throws(
    () => conv2dBn(x, w, convAttrsOf(), bn, 1e-5, [input("bad", [2, 4, 2, 2])]),
    ShapeError,
  );
});

/** A conv→BN pair with random geometry, addends and trainability, in a small training graph. */
const chain = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  cin: fc.integer({ min: 1, max: 3 }),
  cout: fc.integer({ min: 1, max: 4 }),
  hw: fc.integer({ min: 3, max: 7 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.integer({ min: 0, max: 1 }),
  depthwise: fc.boolean(),
  trainableConv: fc.boolean(),
  trainableBeta: fc.boolean(),
  addends: fc.array(fc.constantFrom("full", "channel", "residual"), { maxLength: 3 }),
  seed: fc.nat(1000),
});

Deno.test("random conv→BN chains: fused losses and gradients are bit-identical, also planned", async () => {
  await fc.assert(
    fc.asyncProperty(chain, async (c) => {
      const cout = c.depthwise ? c.cin : c.cout;
      const a = input("a", [c.n, c.cin, c.hw, c.hw]);
      const x = mul(a, param("p", [1, c.cin, 1, 1], { init: { normal: 1 } }));
      const w = param("w", [cout, c.depthwise ? 1 : c.cin, c.k, c.k], {
        trainable: c.trainableConv,
      });
      const opts = { stride: c.stride, padding: c.padding, groups: c.depthwise ? c.cin : 1 };
      const conv = conv2d(x, w, opts);
      let y: Tensor = batchNorm(conv, bnParams("bn", cout, c.trainableBeta));
      c.addends.forEach((kind, i) => {
        const s = y.shape;
        const q = param(`q${i}`, [1, cout, 1, 1], { init: { normal: 1 } });
        const r = relu(conv2d(x, frozen(`r${i}`, [cout, c.cin, 1, 1]), { stride: c.stride }));
        const fits = r.shape.every((d, j) => d === s[j]);
        y = add(
          y,
          kind === "channel"
            ? mul(input(`c${i}`, [s[0], cout, 1, 1]), q)
            : kind === "full" || !fits
            ? mul(input(`f${i}`, s), q)
            : r,
        );
      });
      // The residual kind is a full-size value that dies at the sum: the sum may take its bytes.
      const loss = mean(relu(y));
      const plain = grad(loss);
      const fused = grad(loss, { fuseConvBn: true });
      assert.ok(fused.graph.nodes.some((n) => n.op === "conv2dBn"), "the pair is fused");
      const scaled = fused.graph.nodes.filter((n) => n.op === "conv2dGradInput" && n.attrs.bnEps);
      // A trainable conv's weight gradient reads dy·γ/√(σ²+ε) too: then it is stored once.
      assert.equal(scaled.length, c.trainableConv ? 0 : 1, "the input gradient reads dy scaled");
      await sameBits(fused, plain, c.seed, JSON.stringify(c));
    }),
    { numRuns: 60 },
  );
});

for (const [method, net] of [["da3", resnet50], ["tinytl", resnet20]] as const) {
  // ResNet-50 at its smallest input and batch 1 (the random chains cover batch 2).
  const [size, batch] = net === resnet50 ? [32, 1] : [16, 2];
  Deno.test(`${method} on ${net.name} (${size}², batch ${batch}): fused losses and gradients are bit-identical`, async () => {
    const model = () =>
      net({ adaptor: METHODS[method as MethodName]().adaptor, batch, size, classes: 5 });
    const loss = classificationLoss(model());
    const plain = grad(loss);
    const fused = grad(loss, { fuseConvBn: true });
    const convBn = fused.graph.nodes.filter((n) => n.op === "conv2dBn");
    assert.ok(convBn.length >= 19, `${convBn.length} fused convs`);
    if (method === "da3") {
      assert.ok(convBn.some((n) => n.inputs.length === 8), "a conv sums attention and shortcut");
    }
    // The planned runtime runs the fused graph; the interpreter only the reference (time).
    await sameBits(fused, plain, 7, method, false);
  });
}

Deno.test("ResNet-20 DA³ with Adam in the plan: one fused step updates the parameters to the same bits", async () => {
  const loss = classificationLoss(
    resnet20({ adaptor: METHODS.da3().adaptor, batch: 2, size: 8, classes: 3 }),
  );
  const rule = { kind: "adam" } as const;
  const step = async (fuse: boolean) => {
    const g = withOptimizer(grad(loss, { fuseConvBn: fuse }), rule, 1e-2);
    const feeds = richFeeds(g, 4);
    // Fresh copies (the updates write them); Adam's moments start at zero.
    const params = new Map(
      [...feeds.params].map(([k, v]) => {
        const w = (v as Float32Array).slice();
        return [k, k.includes("#") ? w.fill(0) : w];
      }),
    );
    const inputs = { ...feeds.inputs, [OPTIMIZER_STEP_INPUT]: optimizerStepValues(rule, 1, 1) };
    const plan = planGraph(g, CPU_TARGET);
    const [lossValue] = await createCpuRuntime({ poison: true }).execute(plan, { inputs, params });
    return { lossValue, params, plan };
  };
  const fused = await step(true), plain = await step(false);
  assert.ok(fused.plan.tensors.some((n) => n.op === "conv2dBn"));
  assertIdentical([fused.lossValue], [plain.lossValue], "loss");
  assert.ok(fused.lossValue.every(Number.isFinite));
  assert.ok(fused.plan.arenaBytes < plain.plan.arenaBytes, "the fused step needs less arena");
  for (const [k, v] of plain.params) assertIdentical([fused.params.get(k)!], [v], k);
});

Deno.test("ResNet-50 DA³ 224² batch 8: the fused plan's arena is smaller and within 2% of its bound", () => {
  const loss = () =>
    classificationLoss(resnet50({ adaptor: METHODS.da3().adaptor, batch: 8, classes: 100 }));
  const plain = planGraph(grad(loss()), CPU_TARGET);
  const fused = planGraph(grad(loss(), { fuseConvBn: true }), CPU_TARGET);
  assert.ok(
    fused.arenaBytes < 0.8 * plain.arenaBytes,
    `${fused.arenaBytes} vs ${plain.arenaBytes}`,
  );
  assert.ok(fused.arenaBytes <= 1.02 * fused.lowerBoundBytes);
  assert.equal(fused.savedActivationBytes, plain.savedActivationBytes);
});
