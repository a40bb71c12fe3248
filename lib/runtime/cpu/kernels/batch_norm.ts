/**
 * Batch norm on the CPU over `[N,C,S]` views of `[N,C]` / `[N,C,H,W]` values.
 * @module
 */
import type { Tensor } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

interface Layout {
  readonly n: number;
  readonly c: number;
  readonly s: number;
}

function layout(t: Tensor): Layout {
  const [n, c, h = 1, w = 1] = t.shape;
  return { n, c, s: h * w };
}

/** Applies `f(channel, flatIndex)` to every element. */
function eachElement({ n, c, s }: Layout, f: (ch: number, i: number) => void): void {
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * s;
      for (let k = 0; k < s; k++) f(ch, base + k);
    }
  }
}

/** Per-channel biased mean and variance of `x`. */
function batchStats(x: Float32Array, l: Layout): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(l.c);
  const variance = new Float64Array(l.c);
  const m = l.n * l.s;
  eachElement(l, (ch, i) => (mean[ch] += x[i]));
  for (let ch = 0; ch < l.c; ch++) mean[ch] /= m;
  eachElement(l, (ch, i) => (variance[ch] += (x[i] - mean[ch]) ** 2));
  for (let ch = 0; ch < l.c; ch++) variance[ch] /= m;
  return { mean, variance };
}

function statsOf(n: Tensor, x: Float32Array, mean: Float32Array, variance: Float32Array) {
  return n.attrs.mode === "batch" ? batchStats(x, layout(n.inputs[0])) : { mean, variance };
}

function invStd(variance: ArrayLike<number>, eps: number): Float64Array {
  return Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
}

/** batchNorm forward. */
export const batchNorm: CpuKernel = (n, [xa, ga, ba, ma, va], out) => {
  const x = f32(xa), gamma = f32(ga), beta = f32(ba);
  const { mean, variance } = statsOf(n, x, f32(ma), f32(va));
  const inv = invStd(variance, n.attrs.eps as number);
  const y = f32(out);
  eachElement(layout(n), (ch, i) => (y[i] = (x[i] - mean[ch]) * inv[ch] * gamma[ch] + beta[ch]));
};

/** Eval-mode input gradient `dy · γ / √(σ² + ε)`. */
export const batchNormGradInput: CpuKernel = (n, [dya, ga, va], out) => {
  const dy = f32(dya), gamma = f32(ga);
  const inv = invStd(f32(va), n.attrs.eps as number);
  const dx = f32(out);
  eachElement(layout(n), (ch, i) => (dx[i] = dy[i] * gamma[ch] * inv[ch]));
};

/** Batch-mode input gradient. */
export const batchNormBatchGradInput: CpuKernel = (n, [dya, xa, ga], out) => {
  const dy = f32(dya), x = f32(xa), gamma = f32(ga);
  const l = layout(n);
  const { mean, variance } = batchStats(x, l);
  const inv = invStd(variance, n.attrs.eps as number);
  const sumDy = new Float64Array(l.c), sumDyXhat = new Float64Array(l.c);
  eachElement(l, (ch, i) => {
    sumDy[ch] += dy[i];
    sumDyXhat[ch] += dy[i] * (x[i] - mean[ch]) * inv[ch];
  });
  const m = l.n * l.s;
  const dx = f32(out);
  eachElement(l, (ch, i) => {
    const xhat = (x[i] - mean[ch]) * inv[ch];
    dx[i] = (gamma[ch] * inv[ch] / m) * (m * dy[i] - sumDy[ch] - xhat * sumDyXhat[ch]);
  });
};

/** `Σ dy · x̂` per channel. */
export const batchNormGradGamma: CpuKernel = (n, [dya, xa, ma, va], out) => {
  const dy = f32(dya), x = f32(xa);
  const l = layout(n.inputs[1]);
  const { mean, variance } = n.attrs.mode === "batch"
    ? batchStats(x, l)
    : { mean: f32(ma), variance: f32(va) };
  const inv = invStd(variance, n.attrs.eps as number);
  const acc = new Float64Array(l.c);
  eachElement(l, (ch, i) => (acc[ch] += dy[i] * (x[i] - mean[ch]) * inv[ch]));
  f32(out).set(acc);
};
