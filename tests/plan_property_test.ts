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
  type Plan,
  planGraph,
} from "../lib/plan/mod.ts";
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

/** Checks the plan invariants; returns nothing, throws on the first violation. */
export function checkPlan(plan: Plan): void {
  const { values, schedule, alignment, arenaBytes } = plan;
  const stepOf = new Map<number, number>();
  schedule.forEach((i, s) => {
    assert.ok(!stepOf.has(i), `value ${i} scheduled twice`);
    stepOf.set(i, s);
    assert.equal(values[i].step, s);
  });
  for (const v of values) {
    if (v.category === "weight") {
      assert.equal(v.offset, null);
      continue;
    }
    assert.ok(stepOf.has(v.index), `value ${v.name} is never computed`);
    if (v.category === "gradient") assert.equal(v.offset, null);
    else {
      assert.notEqual(v.offset, null, `arena value ${v.name} has no offset`);
      assert.equal(v.offset! % alignment, 0, `${v.name} offset ${v.offset} not aligned`);
      assert.ok(v.offset! + v.bytes <= arenaBytes, `${v.name} ends past the arena`);
    }
    assert.equal(v.firstWrite, v.step);
  }
  const arena = values.filter((v) => v.offset !== null);
  const overlap = (a: typeof arena[0], b: typeof arena[0]) =>
    a.offset! < b.offset! + b.bytes && b.offset! < a.offset! + a.bytes;
  const inPlacePair = (a: typeof arena[0], b: typeof arena[0]) =>
    (b.inPlaceOf === a.index && a.lastRead === b.firstWrite) ||
    (a.inPlaceOf === b.index && b.lastRead === a.firstWrite);
  // Every read: after the write, within the lifetime, and no one else wrote those bytes since.
  schedule.forEach((i, s) => {
    for (const j of values[i].inputs) {
      const x = values[j];
      if (x.category === "weight") continue;
      assert.ok(x.step < s, `${values[i].name} at step ${s} reads ${x.name} written at ${x.step}`);
      assert.ok(x.lastRead >= s, `${x.name} read at ${s} after its last read ${x.lastRead}`);
      if (x.offset === null) continue;
      for (const w of arena) {
        if (w === x || !overlap(w, x) || w.firstWrite <= x.firstWrite || w.firstWrite > s) continue;
        const legal = w.firstWrite === s && w.index === i && w.inPlaceOf === j;
        assert.ok(legal, `${w.name} overwrites ${x.name} before step ${s} reads it`);
      }
    }
  });
  // Intersecting lifetimes never share bytes, in-place pairs excepted.
  for (let a = 0; a < arena.length; a++) {
    for (let b = a + 1; b < arena.length; b++) {
      const [u, v] = [arena[a], arena[b]];
      if (u.firstWrite > v.lastRead || v.firstWrite > u.lastRead) continue;
      assert.ok(!overlap(u, v) || inPlacePair(u, v), `${u.name} and ${v.name} overlap`);
    }
  }
  // The lower bound, recomputed from the values (in-place pairs counted once at the shared step).
  let bound = 0;
  for (let s = 0; s < schedule.length; s++) {
    let live = 0;
    for (const v of arena) {
      const continued = arena.some((w) => w.inPlaceOf === v.index && w.firstWrite === s);
      if (v.firstWrite <= s && s <= v.lastRead && !continued) live += v.bytes;
    }
    bound = Math.max(bound, live);
  }
  assert.equal(plan.lowerBoundBytes, bound);
  assert.ok(arenaBytes >= bound, `arena ${arenaBytes} < lower bound ${bound}`);
  assert.equal(
    plan.totalBytes,
    plan.weightBytes + plan.gradientBytes + plan.optimizerBytes + plan.arenaBytes,
  );
}

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
