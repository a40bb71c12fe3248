/**
 * Broadcast gradients summed into their consumers (`fuseBroadcastAdds`,
 * on by default in `grad`): the gradients are bit-identical to the unfused
 * graph's on the CPU interpreter (random graphs and ResNet-20 DA³), no
 * fused add reads a full-size broadcast, the forward pass keeps its nodes,
 * and DA³'s arena shrinks.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuseBroadcastAdds, grad, type GradResult } from "../lib/autodiff/mod.ts";
import {
  add,
  broadcastTo,
  type Graph,
  graph,
  input,
  reshape,
  type Tensor,
} from "../lib/graph/mod.ts";
import { CPU_TARGET, planGraph } from "../lib/plan/mod.ts";
import type { Feeds, TensorData } from "../lib/runtime/data.ts";
import { executeCpu } from "../lib/runtime/cpu/execute.ts";
import { METHODS } from "../lib/adapt/mod.ts";
import { classificationLoss, resnet20 } from "../lib/models/mod.ts";
import { randomFeeds, recipe, trainingGraph } from "./plan_dags.ts";

/** The gradients of `g` by parameter name, from the CPU interpreter. */
function gradients(g: GradResult, feeds: Feeds): Map<string, TensorData> {
  const out = executeCpu(g.graph, feeds);
  const start = g.graph.outputs.length - g.grads.size;
  return new Map([...g.grads.keys()].map((p, k) => [String(p.attrs.name), out[start + k]]));
}

function assertIdentical(a: Map<string, TensorData>, b: Map<string, TensorData>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    assert.equal(x.length, y.length, name);
    x.forEach((v, i) => assert.ok(Object.is(v, y[i]), `${name}[${i}]: ${v} vs ${y[i]}`));
  }
}

/** Adds of a graph that read a broadcast while their other operand has the output's shape. */
function fusableAdds(g: Graph): Tensor[] {
  const full = (x: Tensor, n: Tensor) =>
    x.shape.length === n.shape.length && x.shape.every((d, i) => d === n.shape[i]);
  return g.nodes.filter((n) =>
    n.op === "add" &&
    n.inputs.some((x, k) =>
      x.op === "broadcastTo" && !full(x.inputs[0], n) && full(n.inputs[1 - k], n)
    )
  );
}

Deno.test("fuseBroadcastAdds: add(a, broadcastTo(x, s)) reads scale(x, s); a shared broadcast stays", () => {
  const a = input("a", [2, 3, 4, 4]);
  const x = input("x", [2, 3]);
  const b = broadcastTo(reshape(x, [2, 3, 1, 1]), a.shape, 0.25);
  const [sum, other] = fuseBroadcastAdds([add(a, b), add(b, a)]);
  assert.equal(sum.op, "add");
  assert.equal(sum.inputs[0], a);
  assert.equal(sum.inputs[1].op, "scale");
  assert.equal(sum.inputs[1].attrs.scale, 0.25);
  assert.deepEqual(sum.inputs[1].shape, [2, 3, 1, 1]);
  assert.deepEqual(sum.shape, a.shape);
  assert.equal(other.inputs[1], a);
  assert.equal(other.inputs[0].op, "scale");
  assert.ok(!graph(sum, other).nodes.some((n) => n.op === "broadcastTo"));

  const unit = broadcastTo(reshape(x, [2, 3, 1, 1]), a.shape);
  const [plain] = fuseBroadcastAdds([add(a, unit)]);
  assert.equal(plain.inputs[1], unit.inputs[0], "scale 1 reads the source itself");

  const kept = add(a, b);
  assert.equal(fuseBroadcastAdds([kept], new Set([kept]))[0], kept, "kept nodes stay");
  const both = broadcastTo(reshape(x, [2, 3, 1, 1]), [2, 3, 4, 4]);
  const [twoBroadcasts] = fuseBroadcastAdds([add(both, b)]);
  assert.equal(twoBroadcasts.inputs[0], both, "a broadcast operand is full-size: kept");
});

Deno.test("random graphs: fused gradients are bit-identical to the unfused ones", () => {
  let fused = 0;
  fc.assert(
    fc.property(recipe(16, 300), fc.nat(1000), (r, seed) => {
      const plain = trainingGraph(r, { fuseBroadcasts: false, accumulateConvGrads: false });
      const lean = trainingGraph(r, { accumulateConvGrads: false });
      assert.equal(fusableAdds(lean.graph).length, 0);
      if (fusableAdds(plain.graph).length > 0) fused++;
      const feeds = randomFeeds(plain.graph, seed);
      assertIdentical(gradients(lean, feeds), gradients(plain, feeds));
      assert.deepEqual(executeCpu(lean.graph, feeds)[0], executeCpu(plain.graph, feeds)[0]);
    }),
    { numRuns: 200 },
  );
  assert.ok(fused > 0, "no random graph had a broadcast to fuse");
});

Deno.test("ResNet-20 DA³: fused gradients are bit-identical, the forward pass is the same nodes", () => {
  const build = () =>
    classificationLoss(
      resnet20({ adaptor: METHODS.da3().adaptor, batch: 2, size: 8, classes: 3 }),
    );
  const loss = build();
  const plain = grad(loss, { fuseBroadcasts: false, accumulateConvGrads: false });
  const lean = grad(loss, { accumulateConvGrads: false });
  assert.ok(fusableAdds(plain.graph).length >= 9, "every adapted pair's pooled input");
  assert.equal(fusableAdds(lean.graph).length, 0);
  assert.equal(lean.loss, loss);
  assert.deepEqual(lean.saved.map((s) => s.tensor), plain.saved.map((s) => s.tensor));
  const feeds = randomFeeds(plain.graph, 3);
  assertIdentical(gradients(lean, feeds), gradients(plain, feeds));
});

Deno.test("ResNet-20 DA³ batch 32: fusing broadcast gradients shrinks the arena", () => {
  const loss = classificationLoss(
    resnet20({ adaptor: METHODS.da3().adaptor, batch: 32, classes: 100 }),
  );
  const plain = planGraph(
    grad(loss, { fuseBroadcasts: false, accumulateConvGrads: false }),
    CPU_TARGET,
  );
  const lean = planGraph(grad(loss, { accumulateConvGrads: false }), CPU_TARGET);
  assert.ok(
    lean.arenaBytes < plain.arenaBytes * 0.9,
    `arena ${lean.arenaBytes} vs ${plain.arenaBytes} unfused`,
  );
  assert.equal(lean.savedActivationBytes, plain.savedActivationBytes);
});
