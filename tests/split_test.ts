/** The validation split: seeded, stratified, disjoint from what is left to train on, covering. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  carveValidation,
  classCounts,
  DataError,
  type Dataset,
  loadEmbedded,
  splitValidation,
  stratifiedQuotas,
  validationCount,
} from "../lib/data/mod.ts";

const labelsArb = fc.integer({ min: 1, max: 12 }).chain((classes) =>
  fc.record({
    classes: fc.constant(classes),
    labels: fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: 2, maxLength: 300 }),
  })
);

Deno.test("validation split: disjoint, covering, stratified and stable over seeds and sizes", () => {
  fc.assert(
    fc.property(
      labelsArb,
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      ({ classes, labels }, fraction, seed) => {
        const n = labels.length;
        const size = Math.min(fraction, (n - 1) / n - 1e-9);
        const s = carveValidation(labels, classes, size, seed);
        const v = validationCount(n, size);
        assert.equal(s.validation.length, v);
        assert.equal(s.train.length, n - v);
        const seen = new Uint8Array(n);
        for (const i of [...s.train, ...s.validation]) seen[i]++;
        assert.ok(seen.every((c) => c === 1), "every index in exactly one part");
        for (const part of [s.train, s.validation]) {
          for (let i = 1; i < part.length; i++) assert.ok(part[i - 1] < part[i], "ascending");
        }
        const counts = new Array(classes).fill(0), held = new Array(classes).fill(0);
        for (const l of labels) counts[l]++;
        for (const i of s.validation) held[labels[i]]++;
        for (let k = 0; k < classes; k++) {
          assert.ok(Math.abs(held[k] - (v * counts[k]) / n) < 1 + 1e-9, `class ${k} stratified`);
        }
        assert.deepEqual(carveValidation(labels, classes, size, seed), s, "same seed, same split");
      },
    ),
  );
});

Deno.test("validation split: a count holds out exactly that many; different seeds differ", () => {
  const labels = Array.from({ length: 200 }, (_, i) => i % 10);
  const a = carveValidation(labels, 10, 40, 1), b = carveValidation(labels, 10, 40, 2);
  assert.equal(a.validation.length, 40);
  assert.notDeepEqual([...a.validation], [...b.validation]);
  for (let k = 0; k < 10; k++) {
    assert.equal([...a.validation].filter((i) => labels[i] === k).length, 4);
  }
});

Deno.test("validation split: sizes that leave nothing to train on, or are not a fraction or count, are refused", () => {
  assert.throws(() => validationCount(10, 10), DataError);
  assert.throws(() => validationCount(10, 2.5), /fraction in \[0, 1\) or a count/);
  assert.throws(() => validationCount(10, -0.1), DataError);
  assert.throws(() => validationCount(1, 0.9), /leaving none to train on/);
  assert.equal(validationCount(10, 0), 0);
  assert.equal(validationCount(1000, 0.2), 200);
});

Deno.test("stratified quotas sum to the total and never exceed a class", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 12 }), fc.nat(600), (c, t) => {
      const n = c.reduce((a, b) => a + b, 0), total = Math.min(t, n);
      const q = stratifiedQuotas(c, total);
      assert.equal(q.reduce((a, b) => a + b, 0), total);
      q.forEach((x, k) => assert.ok(x >= 0 && x <= c[k]));
    }),
  );
});

Deno.test("every embedded domain's validation split is carved from its training images, apart from the rest and from test", async () => {
  const size = 3 * 32 * 32;
  const keys = (ds: Dataset) =>
    Array.from(
      { length: ds.labels.length },
      (_, i) => ds.images.subarray(i * size, (i + 1) * size).join(","),
    );
  const tally = (ks: string[]) => {
    const m = new Map<string, number>();
    for (const k of ks) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  for (const name of ["fashion", "letters", "sklearn-digits", "mnist-m"]) {
    const split = await loadEmbedded(name);
    const { train, validation } = splitValidation(split.train, 0.2, 0);
    assert.equal(validation.labels.length, 200, name);
    assert.equal(train.labels.length, 800, name);
    // The data itself may hold an image twice (one glyph in two fonts): count with multiplicity.
    const all = tally(keys(split.train)), fit = tally(keys(train)), held = tally(keys(validation));
    for (const [k, c] of held) {
      assert.equal(c + (fit.get(k) ?? 0), all.get(k), `${name}: held-out image counted once`);
    }
    const test = new Set(keys(split.test));
    for (const k of held.keys()) assert.ok(!test.has(k), `${name}: a validation image is in test`);
    const counts = classCounts(validation);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 12, `${name}: stratified ${counts}`);
  }
});
