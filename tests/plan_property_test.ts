/**
 * Properties of every plan, checked on random interval sets and random
 * graphs (inference and training): intersecting lifetimes never share bytes,
 * offsets are aligned, the arena is at least the lower bound, and every read
 * comes after its value's write and before its bytes are reused.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  alignUp,
  assignOffsets,
  CPU_TARGET,
  type Interval,
  lowerBound,
  planGraph,
} from "../lib/plan/mod.ts";
import { checkPlan } from "./plan_check.ts";
import { inferenceGraph, recipe, trainingGraph } from "./plan_dags.ts";

const alignments = fc.constantFrom(1, 4, 16, 256);

const intervals: fc.Arbitrary<Interval[]> = fc.array(
  fc.record({ size: fc.integer({ min: 1, max: 5000 }), first: fc.nat(40), len: fc.nat(12) })
    .map(({ size, first, len }) => ({ size, first, last: first + len })),
  { maxLength: 40 },
);

/** Independent lower bound: live bytes at each step, summed directly. */
function bruteLowerBound(items: readonly Interval[]): number {
  let best = 0;
  const steps = new Set(items.map((v) => v.first));
  for (const s of steps) {
    best = Math.max(
      best,
      items.reduce((t, v) => (v.first <= s && s <= v.last ? t + v.size : t), 0),
    );
  }
  return best;
}

Deno.test("assignOffsets: intersecting intervals never overlap, offsets aligned, arena ≥ bound", () => {
  fc.assert(
    fc.property(intervals, alignments, (items, alignment) => {
      const { offsets, arenaBytes } = assignOffsets(items, { alignment });
      const bound = lowerBound(items).bytes;
      assert.equal(bound, bruteLowerBound(items));
      assert.ok(arenaBytes >= bound, `arena ${arenaBytes} < bound ${bound}`);
      items.forEach((a, i) => {
        assert.equal(offsets[i] % alignment, 0);
        assert.ok(offsets[i] + a.size <= arenaBytes);
        for (let j = i + 1; j < items.length; j++) {
          const b = items[j];
          if (a.first > b.last || b.first > a.last) continue;
          const disjoint = offsets[i] + a.size <= offsets[j] || offsets[j] + b.size <= offsets[i];
          assert.ok(disjoint, `intervals ${i} and ${j} overlap in time and bytes`);
        }
      });
    }),
    { numRuns: 5000 },
  );
});

Deno.test("assignOffsets: with no two intervals intersecting, everything shares offset 0", () => {
  const items = [0, 1, 2, 3].map((s) => ({ size: 100 * (s + 1), first: s, last: s }));
  const a = assignOffsets(items, { alignment: 256 });
  assert.deepEqual(a.offsets, [0, 0, 0, 0]);
  assert.equal(a.arenaBytes, 400);
  assert.equal(alignUp(257, 256), 512);
});

Deno.test("plans of random inference graphs satisfy the plan invariants", () => {
  fc.assert(
    fc.property(recipe(), alignments, fc.boolean(), (r, alignment, inPlace) => {
      checkPlan(planGraph(inferenceGraph(r), { ...CPU_TARGET, alignment }, { inPlace }));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("plans of random training graphs satisfy the plan invariants", () => {
  fc.assert(
    fc.property(recipe(), alignments, (r, alignment) => {
      const g = trainingGraph(r);
      const plan = planGraph(g, { ...CPU_TARGET, alignment }, { optimizer: "adam" });
      checkPlan(plan);
      const grads = plan.values.filter((v) => v.category === "gradient");
      assert.equal(grads.length, new Set(g.grads.values()).size);
      assert.equal(plan.gradientBytes, plan.trainableBytes);
      assert.equal(plan.optimizerBytes, 2 * plan.trainableBytes);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("plans are deterministic", () => {
  fc.assert(
    fc.property(recipe(), (r) => {
      const a = planGraph(trainingGraph(r));
      const b = planGraph(trainingGraph(r));
      assert.deepEqual(a.schedule, b.schedule);
      assert.deepEqual(a.values.map((v) => v.offset), b.values.map((v) => v.offset));
    }),
    { numRuns: 200 },
  );
});
