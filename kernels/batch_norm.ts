/**
 * WGSL for batch norm over `[N,C,S]` views of `[N,C]` / `[N,C,H,W]` values:
 * eval and batch forward, the eval and batch input gradients and the γ
 * gradient. Batch statistics are biased and two-pass (mean, then the mean
 * squared deviation), as on the CPU; per-channel sums run one workgroup per
 * channel and go through scratch (`[mean, variance, Σdy, Σdy·x̂]` per channel).
 * @module
 */
import { bindings, f32, type Kernel, type Lowering, perIndex, perSegment, u32 } from "./wgsl.ts";

/** The `[N,C,S]` view of a batch-normalised value. */
export interface BnLayout {
  /** Batch. */
  readonly n: number;
  /** Channels. */
  readonly c: number;
  /** Spatial size H·W (1 for `[N,C]`). */
  readonly s: number;
}

/** WGSL statements defining `ch` (the channel of flat index `i`, or of quad `i` when `quads`). */
function channelOf({ c, s }: BnLayout, quads = false): string {
  return `  let ch = (${quads ? "i * 4u" : "i"} / ${u32(s)}) % ${u32(c)};`;
}

/**
 * Per-element kernels read and write `vec4`s when each plane's length is a
 * multiple of 4 (a quad never straddles channels): the element type of the
 * full-size bindings and the number of invocations.
 */
function elementsOf(l: BnLayout): { t: "f32" | "vec4<f32>"; quads: boolean; count: number } {
  const quads = l.s % 4 === 0;
  const count = l.n * l.c * l.s;
  return { t: quads ? "vec4<f32>" : "f32", quads, count: quads ? count / 4 : count };
}

/** WGSL for the flat index of element `j` of channel `seg` (in a per-channel loop). */
function channelElement({ c, s }: BnLayout): string {
  return `(j / ${u32(s)}) * ${u32(c * s)} + seg * ${u32(s)} + j % ${u32(s)}`;
}

/**
 * One workgroup per channel writes the batch mean and variance of `x` to
 * scratch words `2c` and `2c+1`, and with `dy` given also `Σdy` and `Σdy·x̂`
 * to words `2C+2c` and `2C+2c+1`.
 */
function batchStats(
  l: BnLayout,
  decls: string,
  eps: number,
  withGrad: boolean,
  name: string,
): Kernel {
  const m = l.n * l.s;
  const at = channelElement(l);
  const grad = withGrad
    ? `
  let inv = 1.0f / sqrt(variance + ${f32(eps)});
  var sdy = 0.0f;
  var sdx = 0.0f;
  for (var j = lid; j < ${u32(m)}; j = j + SIZE) {
    let k = ${at};
    sdy = sdy + dy[k];
    sdx = sdx + dy[k] * (x[k] - mu) * inv;
  }
  let tdy = wgSum(sdy, lid);
  let tdx = wgSum(sdx, lid);
  if (lid == 0u) {
    scratch[${u32(2 * l.c)} + 2u * seg] = tdy;
    scratch[${u32(2 * l.c)} + 2u * seg + 1u] = tdx;
  }`
    : "";
  const body = `  var acc = 0.0f;
  for (var j = lid; j < ${u32(m)}; j = j + SIZE) { acc = acc + x[${at}]; }
  let mu = wgSum(acc, lid) / ${f32(m)};
  var dev = 0.0f;
  for (var j = lid; j < ${u32(m)}; j = j + SIZE) {
    let d = x[${at}] - mu;
    dev = dev + d * d;
  }
  let variance = wgSum(dev, lid) / ${f32(m)};
  if (lid == 0u) {
    scratch[2u * seg] = mu;
    scratch[2u * seg + 1u] = variance;
  }${grad}`;
  return perSegment(name, decls, l.c, m, body);
}

/** Forward: `γ (x − μ) / √(σ² + ε) + β`, with running (eval) or batch statistics. */
export function batchNorm(l: BnLayout, mode: "eval" | "batch", eps: number): Lowering {
  const decls = bindings([
    ["x", "f32"],
    ["gamma", "f32"],
    ["beta", "f32"],
    ["rmean", "f32"],
    ["rvar", "f32"],
    ["y", "f32"],
    ["scratch", "f32"],
  ]);
  const e = elementsOf(l);
  const applyDecls = bindings([
    ["x", e.t],
    ["gamma", "f32"],
    ["beta", "f32"],
    ["rmean", "f32"],
    ["rvar", "f32"],
    ["y", e.t],
    ["scratch", "f32"],
  ]);
  const stats = mode === "eval" ? "rmean[ch]" : "scratch[2u * ch]";
  const vars = mode === "eval" ? "rvar[ch]" : "scratch[2u * ch + 1u]";
  const body = `${channelOf(l, e.quads)}
  let inv = 1.0f / sqrt(${vars} + ${f32(eps)});
  y[i] = (x[i] - ${stats}) * inv * gamma[ch] + beta[ch];`;
  const apply = perIndex("batchNorm", applyDecls, e.count, body);
  if (mode === "eval") return { kernels: [apply], scratchBytes: 0 };
  return {
    kernels: [batchStats(l, decls, eps, false, "batchNormStats"), apply],
    scratchBytes: 8 * l.c,
  };
}

/** Eval-mode input gradient `dy · γ / √(σ² + ε)`. */
export function batchNormGradInput(l: BnLayout, eps: number): Lowering {
  const e = elementsOf(l);
  const decls = bindings([["dy", e.t], ["gamma", "f32"], ["rvar", "f32"], ["dx", e.t]]);
  const body = `${channelOf(l, e.quads)}
  dx[i] = dy[i] * (gamma[ch] * (1.0f / sqrt(rvar[ch] + ${f32(eps)})));`;
  return {
    kernels: [perIndex("batchNormGradInput", decls, e.count, body)],
    scratchBytes: 0,
  };
}

/** Batch-mode input gradient `γ·inv/m · (m·dy − Σdy − x̂·Σdy·x̂)`. */
export function batchNormBatchGradInput(l: BnLayout, eps: number): Lowering {
  const decls = bindings([
    ["dy", "f32"],
    ["x", "f32"],
    ["gamma", "f32"],
    ["dx", "f32"],
    ["scratch", "f32"],
  ]);
  const m = l.n * l.s;
  const e = elementsOf(l);
  const applyDecls = bindings([
    ["dy", e.t],
    ["x", e.t],
    ["gamma", "f32"],
    ["dx", e.t],
    ["scratch", "f32"],
  ]);
  const body = `${channelOf(l, e.quads)}
  let mu = scratch[2u * ch];
  let inv = 1.0f / sqrt(scratch[2u * ch + 1u] + ${f32(eps)});
  let sdy = scratch[${u32(2 * l.c)} + 2u * ch];
  let sdx = scratch[${u32(2 * l.c)} + 2u * ch + 1u];
  let xhat = (x[i] - mu) * inv;
  dx[i] = (gamma[ch] * inv / ${f32(m)}) * (${f32(m)} * dy[i] - sdy - xhat * sdx);`;
  return {
    kernels: [
      batchStats(l, decls, eps, true, "batchNormBatchStats"),
      perIndex("batchNormBatchGradInput", applyDecls, e.count, body),
    ],
    scratchBytes: 16 * l.c,
  };
}

/** `Σ dy · x̂` per channel; eval mode reads running stats, batch mode recomputes them. */
export function batchNormGradGamma(l: BnLayout, mode: "eval" | "batch", eps: number): Lowering {
  const m = l.n * l.s;
  const at = channelElement(l);
  const evalDecls = bindings([
    ["dy", "f32"],
    ["x", "f32"],
    ["rmean", "f32"],
    ["rvar", "f32"],
    ["dgamma", "f32"],
  ]);
  const batchDecls = bindings([["dy", "f32"], ["x", "f32"], ["dgamma", "f32"], ["scratch", "f32"]]);
  const stats = mode === "eval"
    ? `  let mu = rmean[seg];\n  let variance = rvar[seg];`
    : `  let mu = scratch[2u * seg];\n  let variance = scratch[2u * seg + 1u];`;
  const body = `${stats}
  let inv = 1.0f / sqrt(variance + ${f32(eps)});
  var acc = 0.0f;
  for (var j = lid; j < ${u32(m)}; j = j + SIZE) {
    let k = ${at};
    acc = acc + dy[k] * (x[k] - mu) * inv;
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { dgamma[seg] = total; }`;
  if (mode === "eval") {
    return {
      kernels: [perSegment("batchNormGradGamma", evalDecls, l.c, m, body)],
      scratchBytes: 0,
    };
  }
  const statsDecls = bindings([["dy", "f32"], ["x", "f32"], ["dgamma", "f32"], ["scratch", "f32"]]);
  return {
    kernels: [
      batchStats(l, statsDecls, eps, false, "batchNormStats"),
      perSegment("batchNormGradGamma", batchDecls, l.c, m, body),
    ],
    scratchBytes: 8 * l.c,
  };
}
