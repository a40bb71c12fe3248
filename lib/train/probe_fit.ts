/**
 * The linear probe's fit: multinomial logistic regression on standardised
 * features with an L2 penalty on the weights (not the bias), minimised to
 * convergence with L-BFGS, and the fitted head folded back onto the raw
 * features as a plain linear layer (`fc.weight` `[classes, d]`, `fc.bias`).
 * @module
 */
import { type LbfgsOptions, minimizeLbfgs } from "./probe_lbfgs.ts";

/** `n` feature rows of width `d`, row-major, float64. */
export interface Features {
  /** `n × d` values. */
  readonly x: Float64Array;
  /** Rows. */
  readonly n: number;
  /** Columns. */
  readonly d: number;
}

/** Per-column mean and standard deviation (1 for a constant column). */
export interface Standardizer {
  /** Column means. */
  readonly mean: Float64Array;
  /** Column standard deviations (population), 1 where a column is constant. */
  readonly std: Float64Array;
}

/** A linear head on some features: `logits = weight · x + bias`. */
export interface LinearHead {
  /** `[classes, d]` row-major. */
  readonly weight: Float64Array;
  /** `[classes]`. */
  readonly bias: Float64Array;
  /** Classes. */
  readonly classes: number;
  /** Feature width. */
  readonly d: number;
}

/** A fitted probe: the head on raw features and how the minimiser ended. */
export interface ProbeFit {
  /** The head on the raw (unstandardised) features. */
  readonly head: LinearHead;
  /** Penalised mean cross-entropy at the optimum (standardised coordinates). */
  readonly loss: number;
  /** Largest gradient entry there. */
  readonly gradNorm: number;
  /** L-BFGS iterations. */
  readonly iterations: number;
  /** Whether the gradient tolerance was met. */
  readonly converged: boolean;
}

/** The rows of `f` at `rows`, in that order. */
export function featureRows(f: Features, rows: ArrayLike<number>): Features {
  const x = new Float64Array(rows.length * f.d);
  for (let i = 0; i < rows.length; i++) {
    x.set(f.x.subarray(rows[i] * f.d, (rows[i] + 1) * f.d), i * f.d);
  }
  return { x, n: rows.length, d: f.d };
}

/** Column statistics of `f`. */
export function fitStandardizer(f: Features): Standardizer {
  const mean = new Float64Array(f.d), sq = new Float64Array(f.d);
  for (let i = 0; i < f.n; i++) {
    for (let j = 0; j < f.d; j++) mean[j] += f.x[i * f.d + j];
  }
  for (let j = 0; j < f.d; j++) mean[j] /= Math.max(1, f.n);
  for (let i = 0; i < f.n; i++) {
    for (let j = 0; j < f.d; j++) sq[j] += (f.x[i * f.d + j] - mean[j]) ** 2;
  }
  const std = sq.map((s) => {
    const v = Math.sqrt(s / Math.max(1, f.n));
    return v > 1e-12 ? v : 1;
  });
  return { mean, std };
}

/** `(x − mean) / std`, column-wise. */
export function standardize(f: Features, s: Standardizer): Features {
  const x = new Float64Array(f.x.length);
  for (let i = 0; i < f.n; i++) {
    for (let j = 0; j < f.d; j++) x[i * f.d + j] = (f.x[i * f.d + j] - s.mean[j]) / s.std[j];
  }
  return { x, n: f.n, d: f.d };
}

/**
 * The penalised objective of multinomial logistic regression over
 * `theta = [W (classes × d, row-major), b (classes)]`:
 * `mean_i [logsumexp(W x_i + b) − (W x_i + b)_{y_i}] + λ/2 ‖W‖²`.
 * Writes its gradient into `grad`.
 */
export function softmaxRegressionObjective(
  f: Features,
  labels: ArrayLike<number>,
  classes: number,
  lambda: number,
): (theta: Float64Array, grad: Float64Array) => number {
  const { x, n, d } = f, k = classes, z = new Float64Array(k);
  return (theta, grad) => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        let v = theta[k * d + c];
        const w = c * d;
        for (let j = 0; j < d; j++) v += theta[w + j] * x[row + j];
        z[c] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(z[c] - max);
      const lse = max + Math.log(sum), y = labels[i];
      loss += lse - z[y];
      for (let c = 0; c < k; c++) {
        const r = (Math.exp(z[c] - lse) - (c === y ? 1 : 0)) / n;
        if (r === 0) continue;
        const w = c * d;
        for (let j = 0; j < d; j++) grad[w + j] += r * x[row + j];
        grad[k * d + c] += r;
      }
    }
    let penalty = 0;
    for (let j = 0; j < k * d; j++) {
      penalty += theta[j] * theta[j];
      grad[j] += lambda * theta[j];
    }
    return loss / n + (lambda / 2) * penalty;
  };
}

/** Options of {@linkcode fitSoftmaxRegression}. */
export interface FitOptions extends LbfgsOptions {
  /** L2 penalty λ on the weights. */
  readonly lambda: number;
  /** Classes (labels are below it). */
  readonly classes: number;
  /** Starting point `[W, b]` (default zeros), e.g. the fit at a neighbouring λ. */
  readonly start?: Float64Array;
}

/** Minimises {@linkcode softmaxRegressionObjective} on already standardised features. */
export function fitSoftmaxRegression(
  f: Features,
  labels: ArrayLike<number>,
  options: FitOptions,
): ProbeFit & { readonly theta: Float64Array } {
  const { classes: k, lambda } = options;
  const start = options.start ?? new Float64Array(k * (f.d + 1));
  const r = minimizeLbfgs(softmaxRegressionObjective(f, labels, k, lambda), start, {
    gtol: options.gtol ?? 1e-8,
    maxIter: options.maxIter,
    memory: options.memory,
  });
  return {
    theta: r.x,
    head: {
      weight: r.x.slice(0, k * f.d),
      bias: r.x.slice(k * f.d),
      classes: k,
      d: f.d,
    },
    loss: r.f,
    gradNorm: r.gradNorm,
    iterations: r.iterations,
    converged: r.converged,
  };
}

/** The head on standardised features rewritten as one on raw features: `W/σ`, `b − (W/σ)·μ`. */
export function foldStandardizer(head: LinearHead, s: Standardizer): LinearHead {
  const { classes: k, d } = head;
  const weight = new Float64Array(k * d), bias = Float64Array.from(head.bias);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) {
      const w = head.weight[c * d + j] / s.std[j];
      weight[c * d + j] = w;
      bias[c] -= w * s.mean[j];
    }
  }
  return { weight, bias, classes: k, d };
}

/** Arg-max class of each row under `head`. */
export function predict(head: LinearHead, f: Features): Int32Array {
  const out = new Int32Array(f.n);
  for (let i = 0; i < f.n; i++) {
    let best = 0, bestV = -Infinity;
    for (let c = 0; c < head.classes; c++) {
      let v = head.bias[c];
      for (let j = 0; j < f.d; j++) v += head.weight[c * f.d + j] * f.x[i * f.d + j];
      if (v > bestV) [best, bestV] = [c, v];
    }
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose prediction under `head` equals the label. */
export function headAccuracy(head: LinearHead, f: Features, labels: ArrayLike<number>): number {
  const p = predict(head, f);
  let correct = 0;
  for (let i = 0; i < f.n; i++) if (p[i] === labels[i]) correct++;
  return f.n > 0 ? correct / f.n : 0;
}
