/**
 * The gradients of a fork summed into one buffer (`accumulateConvGrads`, on
 * by default in `grad`): bit-identical gradients on the CPU interpreter and
 * on the planned CPU runtime, where the sum overwrites its base (random conv
 * forks, ResNet-20 under DA³ and fine-tuning), and a smaller arena for DA³
 * on ResNet-50.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { accumulateConvGrads, grad, type GradResult } from "../lib/autodiff/mod.ts";
import {
  add,
  conv2d,
  conv2dGradInput,
  type ConvAttrs,
  input,
  mean,
  mul,
  param,
  relu,
  ShapeError,
} from "../lib/graph/mod.ts";
import { CPU_TARGET, planGraph } from "../lib/plan/mod.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { createCpuRuntime } from "../lib/runtime/cpu/runtime.ts";
import { type MethodName, METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20, resnet50 } from "../lib/models/mod.ts";
import { randomFeeds } from "./plan_dags.ts";

function assertIdentical(a: readonly TensorData[], b: readonly TensorData[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, k) => {
    assert.equal(x.length, b[k].length, `${what}: output ${k}`);
    x.forEach((v, i) =>
      assert.ok(Object.is(v, b[k][i]), `${what}: output ${k}[${i}] ${v} vs ${b[k][i]}`)
    );
  });
}

const withBase = (g: GradResult) =>
  g.graph.nodes.filter((n) => n.op === "conv2dGradInput" && n.inputs.length === 3);

/**
 * Checks that `lean` (rewritten) and `plain` give the same bits on the
 * interpreter, and that `lean`'s plan on the poisoning CPU runtime does too.
 */
async function sameGradients(lean: GradResult, plain: GradResult, seed: number, what: string) {
  const feeds = randomFeeds(plain.graph, seed);
  const expected = executeCpu(plain.graph, feeds);
  assertIdentical(executeCpu(lean.graph, feeds), expected, `${what}: interpreter`);
  const plan = planGraph(lean, CPU_TARGET);
  const rt = createCpuRuntime({ poison: true });
  assertIdentical(await rt.execute(plan, feeds), expected, `${what}: planned`);
  return plan;
}

Deno.test("accumulateConvGrads: add(a, conv2dGradInput(dy, w)) sums into a; shared or kept stay", () => {
  const a = input("a", [1, 2, 5, 5]);
  const dy = input("dy", [1, 3, 5, 5]);
  const w = input("w", [3, 2, 3, 3]);
  const attrs: ConvAttrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
  const g1 = conv2dGradInput(dy, w, attrs, a.shape);
  const [sum] = accumulateConvGrads([add(a, g1)]);
  assert.equal(sum.op, "conv2dGradInput");
  assert.deepEqual(sum.inputs, [dy, w, a]);
  assert.deepEqual(sum.attrs, g1.attrs);
  const [flipped] = accumulateConvGrads([add(g1, a)]);
  assert.deepEqual(flipped.inputs, [dy, w, a]);
  const g2 = conv2dGradInput(dy, w, attrs, a.shape);
  const [both] = accumulateConvGrads([add(g2, g1)]);
  assert.deepEqual(both.inputs, [dy, w, g2], "the second sums into the first");
  const [shared, alsoRead] = accumulateConvGrads([add(a, g1), relu(g1)]);
  assert.equal(shared.op, "add", "a conv gradient read twice stays");
  assert.equal(alsoRead.inputs[0], g1);
  const kept = add(a, g1);
  assert.equal(accumulateConvGrads([kept], new Set([kept]))[0], kept);
  assert.equal(accumulateConvGrads([add(g1, g1)])[0].op, "add");
  assert.throws(() => conv2dGradInput(dy, w, attrs, a.shape, dy), ShapeError);
  const dw = { ...attrs, groups: 2 };
  const dwGrad = conv2dGradInput(
    input("dy2", [1, 2, 5, 5]),
    input("w2", [2, 1, 3, 3]),
    dw,
    a.shape,
  );
  assert.equal(accumulateConvGrads([add(a, dwGrad)])[0].op, "add", "depthwise convs take no base");
});

/** Two convs of one value `x = a ⊙ p`, so the gradient of `p` sums both conv input gradients. */
const fork = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  cin: fc.integer({ min: 2, max: 3 }), // one channel in and out would be depthwise
  h: fc.integer({ min: 3, max: 7 }),
  w: fc.integer({ min: 3, max: 7 }),
  convs: fc.array(
    fc.record({
      cout: fc.integer({ min: 1, max: 4 }),
      k: fc.integer({ min: 1, max: 3 }),
      stride: fc.integer({ min: 1, max: 2 }),
      padding: fc.integer({ min: 0, max: 1 }),
    }),
    { minLength: 2, maxLength: 3 },
  ),
  seed: fc.nat(1000),
});

Deno.test("random conv forks: summed gradients are bit-identical, also computed in place", async () => {
  await fc.assert(
    fc.asyncProperty(fork, async (f) => {
      const a = input("a", [f.n, f.cin, f.h, f.w]);
      const x = mul(a, param("p", [1, f.cin, 1, 1], { init: { normal: 1 } }));
      let loss = mean(relu(x));
      f.convs.forEach((c, i) => {
        const w = param(`w${i}`, [c.cout, f.cin, c.k, c.k], { init: { normal: 1 } });
        loss = add(loss, mean(relu(conv2d(x, w, { stride: c.stride, padding: c.padding }))));
      });
      const plain = grad(loss, { accumulateConvGrads: false });
      const lean = grad(loss);
      assert.ok(withBase(lean).length >= 1);
      assert.equal(withBase(plain).length, 0);
      await sameGradients(lean, plain, f.seed, JSON.stringify(f));
    }),
    { numRuns: 60 },
  );
});

for (const method of ["da3", "finetune"] as MethodName[]) {
  Deno.test(`ResNet-20 ${method}: summed gradients are bit-identical, on the interpreter and in place`, async () => {
    const loss = classificationLoss(
      resnet20({ adaptor: METHODS[method]().adaptor, batch: 2, size: 8, classes: 3 }),
    );
    const lean = grad(loss);
    const plain = grad(loss, { accumulateConvGrads: false });
    assert.ok(withBase(lean).length >= 8, "every block's input gradient");
    const plan = await sameGradients(lean, plain, 4, method);
    const index = new Map(plan.tensors.map((t, i) => [t, i]));
    const inPlace = withBase(lean).filter((n) =>
      plan.values[index.get(n)!].inPlaceOf === index.get(n.inputs[2])
    );
    assert.ok(inPlace.length > 0, "some sum overwrites its base");
  });
}

Deno.test("ResNet-50 DA³ at 224², batch 1: summing a fork's gradients in one buffer shrinks the arena", () => {
  const loss = classificationLoss(
    resnet50({ adaptor: METHODS.da3().adaptor, batch: 1, classes: 10 }),
  );
  const lean = planGraph(grad(loss), CPU_TARGET);
  const plain = planGraph(grad(loss, { accumulateConvGrads: false }), CPU_TARGET);
  assert.ok(
    lean.arenaBytes < plain.arenaBytes * 0.95,
    `arena ${lean.arenaBytes} vs ${plain.arenaBytes} unsummed`,
  );
});
