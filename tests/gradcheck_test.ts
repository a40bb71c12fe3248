/**
 * Autodiff against central finite differences on random small graphs.
 *
 * Tolerance rule (f32): for each checked coordinate, with analytic gradient
 * `a` and numeric gradient `n` of a loss `L` — the Richardson extrapolation
 * `(16·c(h/4) − c(h))/15` of central differences `c` at h = 2e-3, whose
 * error is O(h⁴) instead of the O(h²) curvature term of `c(h)` alone —
 * `|a − n| < 1e-2·max(|a|, |n|, 1e-2) + 8·ε·|L|/h'`, ε = 2⁻²³, h' = 4.5e-4: a
 * relative error below 1e-2, where tiny gradients compare absolutely (to
 * 1e-4) and the last term bounds f32 rounding of the loss in the
 * extrapolated quotient.
 * Piecewise-linear ops (ReLU, max pool) have kinks; a sample whose forward
 * and backward one-sided differences disagree by more than that same
 * tolerance, or change when the step shrinks to h/4, straddles kinks, is not
 * a smooth point, and is replaced by another (fast-check `pre`), never
 * counted as a pass.
 */
import fc from "fast-check";
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  executeCpu,
  globalAvgPool,
  grad,
  graph,
  initParams,
  input,
  linear,
  maxPool2d,
  mean,
  mul,
  param,
  relu,
  ShapeError,
  sigmoid,
  type Tensor,
} from "../mod.ts";
import {
  channelMean,
  flatten,
  numel,
  softmaxCrossEntropy,
  sourceName,
  upsampleNearest,
} from "../lib/graph/mod.ts";
import type { ParamStore } from "../lib/runtime/mod.ts";
import { relu6, scale, zeroPad2d } from "../lib/graph/mod.ts";
import { rng } from "../lib/runtime/params.ts";

type Step = { op: number; a: number; b: number; trainable: boolean };

/** Applies one random op to `x`; returns `x` unchanged when the op does not fit. */
function applyStep(x: Tensor, s: Step, i: number): Tensor {
  const c = x.shape[1];
  const p = (shape: number[], init?: "ones" | "zeros") =>
    param(`p${i}_${shape.join("x")}`, shape, { trainable: s.trainable, init });
  const bn = (t: Tensor, mode: "eval" | "batch") =>
    batchNorm(t, {
      gamma: param(`g${i}`, [t.shape[1]], {
        trainable: s.trainable,
        init: { uniform: [0.5, 1.5] },
      }),
      beta: param(`b${i}`, [t.shape[1]], { trainable: s.trainable, init: { normal: 0.1 } }),
      mean: param(`m${i}`, [t.shape[1]], { trainable: false, init: { normal: 0.1 } }),
      variance: param(`v${i}`, [t.shape[1]], { trainable: false, init: { uniform: [0.5, 1.5] } }),
    }, { mode });
  try {
    switch (s.op) {
      case 0: {
        const groups = s.a % 2 === 0 ? 1 : c;
        const cout = groups === 1 ? 1 + (s.b % 4) : c;
        const k = 1 + 2 * (s.b % 2);
        return conv2d(x, p([cout, c / groups, k, k]), {
          stride: 1 + (s.a % 3 === 0 ? 1 : 0),
          padding: s.a % 2,
          dilation: 1 + (s.b % 5 === 0 ? 1 : 0),
          groups,
        });
      }
      case 1:
        return bn(x, "eval");
      case 2:
        return bn(x, "batch");
      case 3:
        return relu(x);
      case 4:
        return sigmoid(x);
      case 5:
        return add(x, p([1, c, 1, 1]));
      case 6:
        return mul(x, sigmoid(conv2d(x, p([c, c, 1, 1]))));
      case 7:
        return mul(x, sigmoid(channelMean(x)));
      case 8:
        return avgPool2d(x, { kernel: 2 + (s.a % 2), stride: 1 + (s.b % 2), padding: s.a % 2 });
      case 9:
        return maxPool2d(x, { kernel: 2 + (s.a % 2), stride: 1 + (s.b % 2), padding: s.b % 2 });
      case 10:
        return upsampleNearest(x, 2);
      case 11:
        return relu6(scale(x, 4 + (s.a % 4)));
      case 12:
        return zeroPad2d(x, [s.a % 2, s.b % 3, (s.a >> 1) % 2, s.b % 2]);
      default:
        return add(x, conv2d(relu(x), p([c, c, 3, 3]), { padding: 1 }));
    }
  } catch (e) {
    if (e instanceof ShapeError) return x;
    throw e;
  }
}

interface Case {
  loss: Tensor;
  labels: Int32Array;
  x: Float32Array;
  classes: number;
}

function buildCase(shape: number[], steps: Step[], seed: number, useMean: boolean): Case {
  const x = input("x", shape);
  const labelsNode = input("labels", [shape[0]], "i32");
  let h = x;
  steps.forEach((s, i) => {
    if (numel(h.shape) < 50_000) h = applyStep(h, s, i);
  });
  const classes = 3;
  const features = steps.length % 2 === 0 ? globalAvgPool(h) : flatten(h);
  const logits = linear(
    features,
    param("head.w", [classes, features.shape[1]]),
    param("head.b", [classes], { init: { normal: 0.1 } }),
  );
  const loss = useMean ? mean(mul(logits, logits)) : softmaxCrossEntropy(logits, labelsNode);
  const next = rng(seed);
  return {
    loss,
    classes,
    x: Float32Array.from({ length: numel(shape) }, () => 2 * next() - 1),
    labels: Int32Array.from({ length: shape[0] }, () => Math.floor(next() * classes)),
  };
}

function lossAt(c: Case, params: ParamStore): number {
  const [l] = executeCpu(graph(c.loss), { inputs: { x: c.x, labels: c.labels }, params });
  return l[0];
}

/** One-sided and central difference quotients of the loss along one coordinate. */
function differences(c: Case, params: ParamStore, name: string, k: number, h: number) {
  const v = params.get(name)!;
  const orig = v[k];
  const at = (t: number) => {
    v[k] = t;
    return lossAt(c, params);
  };
  const [up, mid, down] = [at(orig + h), at(orig), at(orig - h)];
  v[k] = orig;
  return { central: (up - down) / (2 * h), forward: (up - mid) / h, backward: (mid - down) / h };
}

/** The tolerance rule of this file's header, for difference quotients with step `h`. */
function close(a: number, n: number, loss: number, h = 2e-3): boolean {
  const tolerance = 1e-2 * Math.max(Math.abs(a), Math.abs(n), 1e-2) +
    8 * 2 ** -23 * Math.abs(loss) / h;
  return Math.abs(a - n) < tolerance;
}

/**
 * The step whose rounding term bounds the extrapolated quotient's:
 * (16/15)/(h/4) + (1/15)/h = 1/(4.6e-4) at h = 2e-3.
 */
const RICHARDSON_NOISE_STEP = 4.5e-4;

const stepArb = fc.record({
  op: fc.integer({ min: 0, max: 13 }),
  a: fc.nat(30),
  b: fc.nat(30),
  trainable: fc.boolean(),
});

Deno.test("autodiff gradients match central finite differences on random graphs", () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      fc.tuple(fc.integer({ min: 3, max: 7 }), fc.integer({ min: 3, max: 7 })),
      fc.array(stepArb, { minLength: 1, maxLength: 5 }),
      fc.nat(),
      fc.boolean(),
      ([n, ch], [hh, ww], steps, seed, useMean) => {
        const c = buildCase([n + 1, ch, hh, ww], steps, seed, useMean);
        const g = grad(c.loss);
        const params = initParams(g.graph, seed);
        const out = executeCpu(g.graph, { inputs: { x: c.x, labels: c.labels }, params });
        const loss = out[0][0];
        const next = rng(seed + 1);
        [...g.grads.keys()].forEach((p, j) => {
          const analytic = out[1 + j] as Float32Array;
          for (let t = 0; t < 2; t++) {
            const k = Math.floor(next() * analytic.length);
            const name = sourceName(p);
            const d = differences(c, params, name, k, 2e-3);
            const q = differences(c, params, name, k, 5e-4);
            fc.pre(
              close(d.forward, d.backward, loss) && close(d.forward, q.forward, loss, 5e-4) &&
                close(d.backward, q.backward, loss, 5e-4),
            );
            // Richardson extrapolation cancels the h² curvature term of the central quotient.
            const a = analytic[k], n = (16 * q.central - d.central) / 15;
            if (!close(a, n, loss, RICHARDSON_NOISE_STEP)) {
              throw new Error(`${name}[${k}]: analytic ${a} vs numeric ${n}, loss ${loss}`);
            }
          }
        });
      },
    ),
    { numRuns: 200, maxSkipsPerRun: 2 },
  );
});
