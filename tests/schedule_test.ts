/** Learning-rate schedules: warm-up then constant or cosine, always in (0, 1]. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CONSTANT_LR, lrFactor, type LrSchedule } from "../lib/train/schedule.ts";

const scheduleArb = fc.record({
  kind: fc.constantFrom("constant" as const, "cosine" as const),
  warmup: fc.nat(50),
});

Deno.test("schedule: the factor stays in (0, 1], rises through warm-up and never rises after it", () => {
  fc.assert(
    fc.property(scheduleArb, fc.integer({ min: 1, max: 400 }), (s: LrSchedule, total) => {
      const f = Array.from({ length: total }, (_, t) => lrFactor(s, t, total));
      for (const v of f) assert.ok(v > 0 && v <= 1, `${v}`);
      const w = Math.min(s.warmup, total - 1);
      for (let t = 1; t < w; t++) assert.ok(f[t] > f[t - 1]);
      if (w < total) assert.equal(f[w], 1, "full rate right after warm-up");
      for (let t = w + 1; t < total; t++) assert.ok(f[t] <= f[t - 1]);
      if (s.kind === "constant") { for (let t = w; t < total; t++) assert.equal(f[t], 1); }
    }),
  );
});

Deno.test("schedule: cosine reaches half the rate halfway and nearly 0 at the end; constant is 1", () => {
  const cos: LrSchedule = { kind: "cosine", warmup: 0 };
  assert.ok(Math.abs(lrFactor(cos, 50, 100) - 0.5) < 1e-12);
  assert.ok(lrFactor(cos, 99, 100) < 1e-3);
  assert.equal(lrFactor(CONSTANT_LR, 99, 100), 1);
  const warm: LrSchedule = { kind: "cosine", warmup: 10 };
  assert.equal(lrFactor(warm, 0, 110), 0.1);
  assert.equal(lrFactor(warm, 9, 110), 1);
  assert.ok(Math.abs(lrFactor(warm, 60, 110) - 0.5) < 1e-12);
});

Deno.test("schedule: cosine ends at its floor (the smallest factor after warm-up, sin²(π/2s) for s decay steps) and stays there", () => {
  fc.assert(
    fc.property(fc.nat(50), fc.integer({ min: 2, max: 400 }), (warmup, total) => {
      const s: LrSchedule = { kind: "cosine", warmup };
      const f = Array.from({ length: total }, (_, t) => lrFactor(s, t, total));
      const w = Math.min(warmup, total - 1), last = f[total - 1], span = total - w;
      assert.equal(
        last,
        Math.min(...f.slice(w)),
        "the last step has the smallest factor after warm-up",
      );
      assert.ok(
        Math.abs(last - Math.sin(Math.PI / (2 * span)) ** 2) < 1e-12,
        `${last} (span ${span})`,
      );
      for (const t of [total, total + 1, 2 * total]) assert.equal(lrFactor(s, t, total), last);
    }),
  );
});
