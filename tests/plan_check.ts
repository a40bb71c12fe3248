/**
 * The plan invariants as one check, for the planner's property tests and
 * for any test that plans a graph: every read comes after its value's write
 * and before its bytes are reused, intersecting lifetimes never share bytes
 * (in-place pairs excepted), offsets are aligned, the lower bound is the
 * peak of live bytes and the arena is at least that.
 */
import assert from "node:assert/strict";
import type { Plan } from "../lib/plan/mod.ts";

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
