/**
 * The linear probe's fit: L-BFGS reaches the optimum a high-precision Newton
 * reference finds, the closed form where there is one, and cross-validation
 * picks a sensible penalty.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { mulberry32 } from "../lib/rng.ts";
import { minimizeLbfgs } from "../lib/train/probe_lbfgs.ts";
import {
  type Features,
  fitSoftmaxRegression,
  fitStandardizer,
  foldStandardizer,
  headAccuracy,
  softmaxRegressionObjective,
  standardize,
} from "../lib/train/probe_fit.ts";
import {
  crossValidatePenalty,
  fitProbe,
  PROBE_PENALTIES,
  stratifiedFolds,
} from "../lib/train/probe_cv.ts";

/** `n` points of `classes` Gaussian blobs in `d` dimensions, centres `spread` apart on the first `informative` axes. */
function blobs(
  n: number,
  d: number,
  classes: number,
  spread: number,
  seed: number,
  informative = d,
): { f: Features; labels: Int32Array } {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from(
    { length: classes },
    () => Array.from({ length: d }, (_, j) => (j < informative ? spread * gauss() : 0)),
  );
  const x = new Float64Array(n * d), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = 3 + centres[c][j] + 2 * gauss();
  }
  return { f: { x, n, d }, labels };
}

/** Solves `A x = b` (symmetric positive definite `A`, `m × m`) by Cholesky. */
function cholSolve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * m + j];
      for (let k = 0; k < j; k++) s -= l[i * m + k] * l[j * m + k];
      l[i * m + j] = i === j ? Math.sqrt(s) : s / l[j * m + j];
    }
  }
  const y = new Float64Array(m), x = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * m + k] * y[k];
    y[i] = s / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < m; k++) s -= l[k * m + i] * x[k];
    x[i] = s / l[i * m + i];
  }
  return x;
}

/** The optimum by damped Newton with the exact Hessian, to a gradient of 1e-13. */
function newtonReference(
  f: Features,
  labels: Int32Array,
  k: number,
  lambda: number,
): { theta: Float64Array; loss: number } {
  const { x, n, d } = f, m = k * (d + 1);
  const obj = softmaxRegressionObjective(f, labels, k, lambda);
  let theta = new Float64Array(m), g = new Float64Array(m);
  let loss = obj(theta, g);
  const at = (c: number, j: number) => (j < d ? c * d + j : k * d + c);
  for (let it = 0; it < 100 && Math.max(...g.map(Math.abs)) > 1e-13; it++) {
    const h = new Float64Array(m * m), p = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        let v = theta[k * d + c];
        for (let j = 0; j < d; j++) v += theta[c * d + j] * x[i * d + j];
        p[c] = v;
        max = Math.max(max, v);
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c] - max);
      for (let c = 0; c < k; c++) p[c] /= sum;
      const xt = (j: number) => (j < d ? x[i * d + j] : 1);
      for (let c = 0; c < k; c++) {
        for (let e = 0; e < k; e++) {
          const w = (p[c] * ((c === e ? 1 : 0) - p[e])) / n;
          for (let j = 0; j <= d; j++) {
            for (let l = 0; l <= d; l++) h[at(c, j) * m + at(e, l)] += w * xt(j) * xt(l);
          }
        }
      }
    }
    for (let q = 0; q < m; q++) h[q * m + q] += q < k * d ? lambda : 1e-12;
    const step = cholSolve(h, g, m);
    let t = 1;
    for (; t > 1e-10; t /= 2) {
      const next = theta.map((v, q) => v - t * step[q]), gn = new Float64Array(m);
      const ln = obj(next, gn);
      if (ln <= loss + 1e-15) {
        [theta, g, loss] = [next, gn, ln];
        break;
      }
    }
  }
  return { theta, loss };
}

function centred(b: Float64Array): number[] {
  const mean = b.reduce((s, v) => s + v, 0) / b.length;
  return Array.from(b, (v) => v - mean);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (
  const [label, spread, lambda] of [
    ["overlapping classes", 1, 1e-2],
    ["separable classes (the penalty alone keeps the optimum finite)", 12, 1e-3],
  ] as const
) {
  Deno.test(`probe fit: L-BFGS reaches the Newton optimum, ${label}`, () => {
    const k = 3, d = 4;
    const { f, labels } = blobs(60, d, k, spread, 7);
    const z = standardize(f, fitStandardizer(f));
    const exact = newtonReference(z, labels, k, lambda);
    const r = fitSoftmaxRegression(z, labels, { classes: k, lambda, gtol: 1e-10 });
    assert.ok(r.converged, `gradient ${r.gradNorm} after ${r.iterations} iterations`);
    assert.ok(r.gradNorm <= 1e-10);
    assert.ok(Math.abs(r.loss - exact.loss) < 1e-12, `${r.loss} vs ${exact.loss}`);
    assert.ok(maxDiff(r.head.weight, exact.theta.subarray(0, k * d)) < 1e-7);
    assert.ok(maxDiff(centred(r.head.bias), centred(exact.theta.slice(k * d))) < 1e-7);
    if (spread > 10) assert.equal(headAccuracy(r.head, z, labels), 1);
  });
}

Deno.test("probe fit: without informative features the optimum is the log class frequencies", () => {
  const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
  const f: Features = { x: new Float64Array(labels.length * 2).fill(5), n: labels.length, d: 2 };
  const z = standardize(f, fitStandardizer(f));
  const r = fitSoftmaxRegression(z, labels, { classes: 3, lambda: 0.1, gtol: 1e-12 });
  assert.ok(r.converged);
  const expected = centred(Float64Array.from([6, 3, 1], Math.log));
  assert.ok(maxDiff(centred(r.head.bias), expected) < 1e-10, `${r.head.bias}`);
  assert.ok(maxDiff(r.head.weight, new Float64Array(6)) < 1e-12);
});

Deno.test("probe objective: its gradient matches central differences", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), (
      seed,
      lambda,
    ) => {
      const { f, labels } = blobs(12, 3, 3, 2, seed);
      const obj = softmaxRegressionObjective(f, labels, 3, lambda);
      const rand = mulberry32(seed + 1), m = 3 * 4;
      const theta = Float64Array.from({ length: m }, () => rand() - 0.5);
      const g = new Float64Array(m), scratch = new Float64Array(m);
      obj(theta, g);
      for (let q = 0; q < m; q++) {
        const h = 1e-6, plus = Float64Array.from(theta), minus = Float64Array.from(theta);
        plus[q] += h;
        minus[q] -= h;
        const num = (obj(plus, scratch) - obj(minus, scratch)) / (2 * h);
        assert.ok(Math.abs(num - g[q]) < 1e-6 * (1 + Math.abs(num)), `∂θ${q}: ${num} vs ${g[q]}`);
      }
    }),
    { numRuns: 25 },
  );
});

Deno.test("L-BFGS minimises a convex quadratic to its exact minimiser", () => {
  const diag = Float64Array.from([1, 10, 100, 1000]), target = Float64Array.from([1, -2, 3, -4]);
  const r = minimizeLbfgs(
    (x, g) => {
      let f = 0;
      for (let i = 0; i < 4; i++) {
        g[i] = diag[i] * (x[i] - target[i]);
        f += (diag[i] * (x[i] - target[i]) ** 2) / 2;
      }
      return f;
    },
    new Float64Array(4),
    { gtol: 1e-12 },
  );
  assert.ok(r.converged);
  assert.ok(maxDiff(r.x, target) < 1e-12);
});

Deno.test("probe fit: the folded head on raw features gives the standardised head's logits", () => {
  const { f, labels } = blobs(40, 5, 4, 2, 3);
  const s = fitStandardizer(f), z = standardize(f, s);
  const r = fitSoftmaxRegression(z, labels, { classes: 4, lambda: 0.05 });
  const raw = foldStandardizer(r.head, s);
  for (let i = 0; i < f.n; i++) {
    for (let c = 0; c < 4; c++) {
      let a = r.head.bias[c], b = raw.bias[c];
      for (let j = 0; j < 5; j++) {
        a += r.head.weight[c * 5 + j] * z.x[i * 5 + j];
        b += raw.weight[c * 5 + j] * f.x[i * 5 + j];
      }
      assert.ok(Math.abs(a - b) < 1e-9);
    }
  }
});

Deno.test("stratified folds: every class spread evenly over the folds", () => {
  const labels = Int32Array.from({ length: 103 }, (_, i) => i % 4);
  const fold = stratifiedFolds(labels, 5, 1);
  for (let c = 0; c < 4; c++) {
    const per = [0, 0, 0, 0, 0];
    labels.forEach((l, i) => l === c && per[fold[i]]++);
    assert.ok(Math.max(...per) - Math.min(...per) <= 1, `class ${c}: ${per}`);
  }
  assert.deepEqual(stratifiedFolds(labels, 5, 1), fold);
});

Deno.test("probe CV: the chosen penalty has the best fold score, and is small when data is plentiful and clean", () => {
  const { f, labels } = blobs(300, 4, 3, 4, 11);
  const cv = crossValidatePenalty(f, labels, { classes: 3 });
  const best = Math.max(...cv.scores.map((s) => s.accuracy));
  assert.equal(cv.scores.find((s) => s.lambda === cv.lambda)!.accuracy, best);
  assert.equal(cv.scores.length, PROBE_PENALTIES.length);
  assert.ok(cv.lambda <= 1e-2, `λ ${cv.lambda}`);
});

Deno.test("probe CV: with few examples and many noise features it penalises more, within 3 points of the best penalty in hindsight", () => {
  const k = 3, d = 80;
  const train = blobs(60, d, k, 3, 5, 4), fresh = blobs(900, d, k, 3, 5, 4);
  const probe = fitProbe(train.f, train.labels, { classes: k });
  assert.ok(probe.converged, `gradient ${probe.gradNorm}`);
  assert.ok(probe.lambda >= 1e-1, `λ ${probe.lambda}`);
  const s = fitStandardizer(train.f), z = standardize(train.f, s);
  const hindsight = Math.max(...PROBE_PENALTIES.map((lambda) => {
    const r = fitSoftmaxRegression(z, train.labels, { classes: k, lambda });
    return headAccuracy(foldStandardizer(r.head, s), fresh.f, fresh.labels);
  }));
  const chosen = headAccuracy(probe.head, fresh.f, fresh.labels);
  assert.ok(chosen >= hindsight - 0.03, `chosen λ ${probe.lambda}: ${chosen} vs ${hindsight}`);
});
