/**
 * Limited-memory BFGS over `Float64Array`s: the minimiser the linear probe
 * fits its head with. Two-loop recursion, backtracking line search with the
 * Armijo condition (and, where the decrease is below rounding, an
 * approximate-Wolfe acceptance), stopping on the gradient's largest entry.
 * @module
 */

/** An objective: writes the gradient at `x` into `grad` and returns the value. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Options of {@linkcode minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Correction pairs kept (default 10). */
  readonly memory?: number;
  /** Stop when every gradient entry is at most this in magnitude (default 1e-8). */
  readonly gtol?: number;
  /** Most iterations (default 2000). */
  readonly maxIter?: number;
}

/** Where {@linkcode minimizeLbfgs} stopped. */
export interface LbfgsResult {
  /** The minimiser found. */
  readonly x: Float64Array;
  /** The objective there. */
  readonly f: number;
  /** Largest gradient entry in magnitude there. */
  readonly gradNorm: number;
  /** Iterations taken. */
  readonly iterations: number;
  /** True when `gradNorm ≤ gtol`. */
  readonly converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The L-BFGS direction −H·g from the correction pairs (two-loop recursion). */
function direction(
  g: Float64Array,
  s: Float64Array[],
  y: Float64Array[],
  rho: number[],
): Float64Array {
  const q = Float64Array.from(g), alpha = new Array<number>(s.length);
  for (let i = s.length - 1; i >= 0; i--) {
    alpha[i] = rho[i] * dot(s[i], q);
    for (let j = 0; j < q.length; j++) q[j] -= alpha[i] * y[i][j];
  }
  const last = s.length - 1;
  const gamma = last >= 0
    ? dot(s[last], y[last]) / dot(y[last], y[last])
    : 1 / Math.max(1, maxAbs(g));
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < s.length; i++) {
    const beta = rho[i] * dot(y[i], q);
    for (let j = 0; j < q.length; j++) q[j] += (alpha[i] - beta) * s[i][j];
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j];
  return q;
}

/** Minimises a smooth objective from `x0` (not mutated) with L-BFGS. */
export function minimizeLbfgs(
  objective: Objective,
  x0: Float64Array,
  options: LbfgsOptions = {},
): LbfgsResult {
  const memory = options.memory ?? 10, gtol = options.gtol ?? 1e-8;
  const maxIter = options.maxIter ?? 2000;
  const n = x0.length;
  let x = Float64Array.from(x0), g = new Float64Array(n);
  let f = objective(x, g);
  const s: Float64Array[] = [], y: Float64Array[] = [], rho: number[] = [];
  const roundoff = 1e-12;
  let iter = 0;
  for (; iter < maxIter && maxAbs(g) > gtol; iter++) {
    let d = direction(g, s, y, rho);
    let dg = dot(d, g);
    if (!(dg < 0)) {
      s.length = y.length = rho.length = 0;
      d = direction(g, s, y, rho);
      dg = dot(d, g);
    }
    const xn = new Float64Array(n), gn = new Float64Array(n);
    let t = 1, fn = Infinity, accepted = false;
    for (let tries = 0; tries < 60; tries++, t *= 0.5) {
      for (let j = 0; j < n; j++) xn[j] = x[j] + t * d[j];
      fn = objective(xn, gn);
      const armijo = fn <= f + 1e-4 * t * dg;
      const flat = fn <= f + roundoff * Math.abs(f) && Math.abs(dot(d, gn)) <= 0.9 * Math.abs(dg);
      if (armijo || flat) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;
    const sk = new Float64Array(n), yk = new Float64Array(n);
    for (let j = 0; j < n; j++) [sk[j], yk[j]] = [xn[j] - x[j], gn[j] - g[j]];
    const sy = dot(sk, yk);
    if (sy > 1e-16 * dot(yk, yk)) {
      s.push(sk), y.push(yk), rho.push(1 / sy);
      if (s.length > memory) s.shift(), y.shift(), rho.shift();
    }
    [x, g, f] = [xn, gn, fn];
  }
  const gradNorm = maxAbs(g);
  return { x, f, gradNorm, iterations: iter, converged: gradNorm <= gtol };
}
