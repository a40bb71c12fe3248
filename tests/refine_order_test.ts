/**
 * Schedule refinement (`refineOrder`): a move to the earliest legal step is
 * kept only when it lowers the peak, the result is a topological order of
 * the same nodes, and its peak never rises (random training graphs).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { input, relu, scale, type Tensor } from "../lib/graph/mod.ts";
import { scheduleGraph } from "../lib/plan/schedule.ts";
import { refineOrder } from "../lib/plan/refine.ts";
import { recipe, trainingGraph } from "./plan_dags.ts";

function assertTopological(order: readonly Tensor[], original: readonly Tensor[]): void {
  assert.deepEqual(new Set(order), new Set(original));
  assert.equal(order.length, original.length);
  const at = new Map(order.map((n, i) => [n, i]));
  for (const n of order) {
    for (const x of n.inputs) {
      if (at.has(x)) assert.ok(at.get(x)! < at.get(n)!, `${n.op} runs before its operand`);
    }
  }
}

Deno.test("refineOrder: moves a producer to right after its operand when that lowers the peak", () => {
  const x = input("x", [4]);
  const a = relu(x), b = scale(x, 2), big = scale(a, 3);
  const order = [x, a, b, big];
  // A made-up peak: lowest when `big` runs right after `a`.
  const peak = (o: readonly Tensor[]) => (o.indexOf(big) === 2 ? 1 : 2);
  const refined = refineOrder(order, peak, (n) => (n === big ? 100 : 1));
  assert.deepEqual(refined, [x, a, big, b]);
  assertTopological(refined, order);
  assert.deepEqual(refineOrder(order, () => 1, () => 100), order, "no gain, no move");
});

Deno.test("refineOrder on random training graphs: a topological order, its peak not above", () => {
  fc.assert(
    fc.property(recipe(), (r) => {
      const g = trainingGraph(r).graph;
      const { order } = scheduleGraph(g);
      const sizes = new Map(g.nodes.map((n) => [n, n.shape.reduce((s, d) => s * d, 4)]));
      // Peak of a simple model: live bytes from each node's step to its last reader.
      const peak = (o: readonly Tensor[]) => {
        const last = new Map<Tensor, number>();
        o.forEach((n, s) => n.inputs.forEach((x) => last.set(x, s)));
        let best = 0;
        for (let s = 0; s < o.length; s++) {
          let live = 0;
          o.forEach((n, t) => {
            if (t <= s && (last.get(n) ?? t) >= s) live += sizes.get(n)!;
          });
          best = Math.max(best, live);
        }
        return best;
      };
      const refined = refineOrder(order, peak, (n) => sizes.get(n)!);
      assertTopological(refined, order);
      assert.ok(peak(refined) <= peak(order));
    }),
    { numRuns: 100 },
  );
});
