/**
 * Register-blocked WGSL convolution: forward, input gradient and weight
 * gradient, shapes and attributes baked in as constants (any stride,
 * padding, dilation and groups).
 *
 * Conventions: NCHW activations, weights `[Cout, Cin/groups, KH, KW]`, the
 * output size `g.y` from the graph's `windowOut` (`convGeometry`). Each
 * invocation keeps a tile of outputs in registers and loads each input row
 * segment once for all the taps and channels of its tile (a direct,
 * "implicit GEMM" formulation without an im2col buffer, workgroup memory or
 * barriers, which suits Mesa's CPU drivers where every storage load is a
 * per-lane gather).
 *
 * Bindings (all `var<storage, read_write> array<f32>`, indexed from element
 * 0; the caller places each by its binding offset):
 * - {@linkcode conv2d}: 0 `x`, 1 `wt`, 2 `y`;
 * - {@linkcode conv2dGradInput}: 0 `dy`, 1 `wt`, 2 `dx`; with a base, 0 `dy`, 1 `wt`,
 *   2 `base`, 3 `dx` (`dx = base + ∂x`; `dx` may be bound to `base`'s bytes); with a
 *   batch norm scale, `gamma` and `rvar` come right after `wt` (`dy` read times
 *   `γ/√(σ²+ε)`);
 * - {@linkcode conv2d} with a {@linkcode ConvEpilogue}: see there;
 * - {@linkcode conv2dGradWeight}: 0 `x`, 1 `dy`, 2 `dw` (`dy` is
 *   `array<vec4<f32>>` when `Wo` is a multiple of 4: same data, read 4 at a time).
 *
 * The forward and input-gradient kernels take the weight's
 * {@linkcode WeightFormat}: a frozen f16 or u8 weight is bound packed
 * (`array<u32>`, see `kernels/weights.ts`) and dequantised at each load.
 * @module
 */
import type { ConvGeometry } from "../lib/graph/mod.ts";
import { F32_WEIGHTS, formatSuffix, weightAt, weightDecl, type WeightFormat } from "./weights.ts";
import { f32, frame, type Kernel } from "./wgsl.ts";

export type { Kernel };

/** Register tile of a convolution kernel. */
export interface ConvTiling {
  /** Output channels (forward, weight gradient) or input channels (input gradient) per invocation. */
  readonly tm: number;
  /** Output columns (forward) or input columns (input gradient) per invocation; input channels for the weight gradient. */
  readonly tn: number;
  /** Invocations per workgroup. */
  readonly wg: number;
}

function storage(i: number, name: string, vec4 = false): string {
  return `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${
    vec4 ? "vec4<f32>" : "f32"
  }>;`;
}

/** WGSL lines splitting `t` into `names` (fastest first) over `sizes`, clamping the slowest. */
function unravel(t: string, names: readonly string[], sizes: readonly number[]): string[] {
  const out: string[] = [];
  let rest = t;
  for (let a = 0; a < names.length; a++) {
    if (a === names.length - 1) out.push(`  let ${names[a]} = min(${rest}, ${sizes[a] - 1}u);`);
    else {
      out.push(`  let ${names[a]} = ${rest} % ${sizes[a]}u;`);
      out.push(`  let ${names[a]}_r = ${rest} / ${sizes[a]}u;`);
      rest = `${names[a]}_r`;
    }
  }
  return out;
}

function pickTile(
  candidates: readonly [number, number][],
  invocations: (tm: number, tn: number) => number,
  want: number,
): [number, number] {
  for (const c of candidates) if (invocations(c[0], c[1]) >= want) return c;
  return candidates[candidates.length - 1];
}

/** The default forward tiling: large tiles while enough invocations remain. */
export function conv2dTiling(g: ConvGeometry): ConvTiling {
  const [n, , ,] = g.x;
  const [cout] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  const [tm, tn] = pickTile(
    [[16, 16], [16, 8], [8, 8], [8, 4], [4, 4], [2, 4], [1, 4]],
    (tm, tn) => n * ho * Math.ceil(wo / tn) * g.groups * Math.ceil(coutG / tm),
    512,
  );
  return { tm: Math.min(tm, coutG), tn: Math.min(tn, wo), wg: 64 };
}

/**
 * A batch norm and additions applied where a convolution stores its
 * output (`conv2dBn`): `((acc − μ)·inv·γ + β) + a₁ + … + a_k` with
 * `inv = 1/√(σ²+ε)`, as the batch norm and add kernels compute it; each
 * addend is `full` (the output's shape; it may share the output's bytes,
 * each invocation reading it only where it writes) or `channel`
 * (`[N, C, 1, 1]`). Bindings after `wt`: 2 `gamma`, 3 `beta`, 4 `rmean`,
 * 5 `rvar`, then one per addend, then `y`.
 */
export interface ConvEpilogue {
  /** The batch norm's ε. */
  readonly eps: number;
  /** The addends' layouts, in summation order. */
  readonly addends: readonly ("full" | "channel")[];
}

/**
 * Forward convolution
 * `y[b,co,oh,ow] = Σ wt[co,c,i,j] · x[b, g·Cin/G + c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]`.
 * Each invocation computes `tm` output channels (of one group) × `tn`
 * consecutive output columns of one output row.
 */
export function conv2d(
  g: ConvGeometry,
  tiling: ConvTiling = conv2dTiling(g),
  weights: WeightFormat = F32_WEIGHTS,
  epilogue?: ConvEpilogue,
): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const coutG = cout / g.groups;
  const { tm, tn, wg } = tiling;
  const owTiles = Math.ceil(wo / tn);
  const coTilesG = Math.ceil(coutG / tm);
  const count = n * ho * owTiles * g.groups * coTilesG;
  const L: string[] = [];
  L.push(...unravel("t", ["owT", "coT", "oh", "b"], [owTiles, g.groups * coTilesG, ho, n]));
  L.push(`  let grp = coT / ${coTilesG}u;`);
  L.push(`  let cl0 = (coT % ${coTilesG}u) * ${tm}u;`);
  L.push(`  let ow0 = owT * ${tn}u;`);
  L.push(`  let iwb = i32(ow0 * ${sw}u) - ${pw};`);
  L.push(`  let ih0 = i32(oh * ${sh}u) - ${ph};`);
  for (let i = 0; i < tm; i++) {
    L.push(
      `  let wo${i} = (grp * ${coutG}u + min(cl0 + ${i}u, ${coutG - 1}u)) * ${cinG * kh * kw}u;`,
    );
  }
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) L.push(`  var acc${i}_${j} = 0.0f;`);
  L.push(`  for (var c = 0u; c < ${cinG}u; c = c + 1u) {`);
  L.push(`    let plane = (b * ${cin}u + grp * ${cinG}u + c) * ${h * w}u;`);
  L.push(`    let wc = c * ${kh * kw}u;`);
  L.push(`    for (var i = 0; i < ${kh}; i = i + 1) {`);
  L.push(`      let ih = ih0 + i * ${dh};`);
  L.push(`      let rowOk = ih >= 0 && ih < ${h};`);
  L.push(`      let row = plane + u32(clamp(ih, 0, ${h - 1})) * ${w}u;`);
  L.push(`      let wi = wc + u32(i) * ${kw}u;`);
  const taps = new Set<number>();
  for (let j = 0; j < tn; j++) for (let q = 0; q < kw; q++) taps.add(j * sw + q * dw);
  for (const o of [...taps].sort((a, b) => a - b)) {
    L.push(`      let iw${o} = iwb + ${o};`);
    L.push(
      `      let x${o} = select(0.0f, x[row + u32(clamp(iw${o}, 0, ${
        w - 1
      }))], rowOk && iw${o} >= 0 && iw${o} < ${w});`,
    );
  }
  for (let q = 0; q < kw; q++) {
    for (let i = 0; i < tm; i++) {
      L.push(`      let w${i}_${q} = ${weightAt("wt", weights, `wo${i} + wi + ${q}u`)};`);
    }
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn; j++) {
        L.push(`      acc${i}_${j} = fma(w${i}_${q}, x${j * sw + q * dw}, acc${i}_${j});`);
      }
    }
  }
  L.push(`    }`);
  L.push(`  }`);
  for (let i = 0; i < tm; i++) {
    const coOk = coTilesG * tm === coutG ? "" : ` && cl0 + ${i}u < ${coutG}u`;
    L.push(
      `  let yo${i} = ((b * ${cout}u + grp * ${coutG}u + cl0 + ${i}u) * ${ho}u + oh) * ${wo}u + ow0;`,
    );
    if (epilogue) {
      L.push(`  let co${i} = min(grp * ${coutG}u + cl0 + ${i}u, ${cout - 1}u);`);
      L.push(`  let inv${i} = 1.0f / sqrt(rvar[co${i}] + ${f32(epilogue.eps)});`);
    }
    for (let j = 0; j < tn; j++) {
      const owOk = owTiles * tn === wo ? "" : ` && ow0 + ${j}u < ${wo}u`;
      const k = `yo${i} + ${j}u`;
      const value = epilogue
        ? epilogue.addends.reduce(
          (v, a, q) => `(${v} + a${q}[${a === "full" ? k : `b * ${cout}u + co${i}`}])`,
          `((acc${i}_${j} - rmean[co${i}]) * inv${i} * gamma[co${i}] + beta[co${i}])`,
        )
        : `acc${i}_${j}`;
      L.push(`  if (live${coOk}${owOk}) { y[${k}] = ${value}; }`);
    }
  }
  const fused = epilogue
    ? [
      ...["gamma", "beta", "rmean", "rvar"].map((s, k) => storage(2 + k, s)),
      ...epilogue.addends.map((_, q) => storage(6 + q, `a${q}`)),
    ]
    : [];
  const name = epilogue ? `conv2dBn${epilogue.addends.map((a) => a[0]).join("")}` : "conv2d";
  return frame(
    `${name}_${tm}x${tn}${formatSuffix(weights)}`,
    [storage(0, "x"), weightDecl(1, "wt", weights), ...fused, storage(2 + fused.length, "y")],
    count,
    wg,
    L,
  );
}

/** The default input-gradient tiling. */
export function conv2dGradInputTiling(g: ConvGeometry): ConvTiling {
  const [n, cin, h, w] = g.x;
  const cinG = cin / g.groups;
  const sw = g.stride[1];
  const q = Math.ceil(w / sw);
  const [tm, tn] = pickTile(
    [[16, 16], [16, 8], [8, 8], [8, 4], [4, 4], [2, 4], [1, 4]],
    (tm, tn) => n * h * sw * Math.ceil(q / tn) * g.groups * Math.ceil(cinG / tm),
    512,
  );
  return { tm: Math.min(tm, cinG), tn: Math.min(tn, q), wg: 64 };
}

/**
 * Input gradient `dx[b,ci,ih,iw] = Σ wt[co,ci',i,j] · dy[b,co,oh,ow]` over the
 * taps with `oh·sh − ph + i·dh = ih` and `ow·sw − pw + j·dw = iw`. Each
 * invocation computes `tm` input channels (of one group) × `tn` input
 * columns `iw = p + sw·q` of one phase `p < sw`, so that their `ow` are
 * consecutive for every tap. `withBase` adds a `base` binding to the sum
 * (each invocation reads `base` only where it writes `dx`, so the two may
 * share bytes).
 */
export function conv2dGradInput(
  g: ConvGeometry,
  tiling: ConvTiling = conv2dGradInputTiling(g),
  withBase = false,
  weights: WeightFormat = F32_WEIGHTS,
  scaleEps?: number,
): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const coutG = cout / g.groups;
  const { tm, tn, wg } = tiling;
  const qn = Math.ceil(w / sw);
  const qTiles = Math.ceil(qn / tn);
  const ciTilesG = Math.ceil(cinG / tm);
  const count = n * h * sw * qTiles * g.groups * ciTilesG;
  // shift keeps the dividends of the tap arithmetic non-negative.
  const shiftW = Math.ceil(((kw - 1) * dw + 1) / sw) + 1;
  const shiftH = Math.ceil(((kh - 1) * dh + 1) / sh) + 1;
  const L: string[] = [];
  L.push(...unravel("t", ["qT", "p", "ciT", "ih", "b"], [qTiles, sw, g.groups * ciTilesG, h, n]));
  L.push(`  let grp = ciT / ${ciTilesG}u;`);
  L.push(`  let cl0 = (ciT % ${ciTilesG}u) * ${tm}u;`);
  L.push(`  let q0 = qT * ${tn}u;`);
  for (let i = 0; i < tm; i++) {
    L.push(`  let wo${i} = min(cl0 + ${i}u, ${cinG - 1}u) * ${kh * kw}u;`);
  }
  // Column j of tap q reads ow = q0 + j + floor((p + pw − q·dw) / sw) when sw divides
  // p + pw − q·dw; those offsets lie in [lo, hi], so one window of dy columns
  // q0 + lo .. q0 + tn − 1 + hi serves every tap (picked by offset when sw > 1).
  const lo = Math.floor((pw - (kw - 1) * dw) / sw);
  const hi = Math.floor((sw - 1 + pw) / sw);
  for (let q = 0; q < kw; q++) {
    if (sw === 1) continue;
    L.push(`  let e${q} = i32(p) + ${pw - q * dw + shiftW * sw};`);
    L.push(`  let ok${q} = e${q} % ${sw} == 0;`);
    L.push(`  let off${q} = e${q} / ${sw} - ${shiftW + lo};`);
  }
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) L.push(`  var acc${i}_${j} = 0.0f;`);
  L.push(`  for (var co = grp * ${coutG}u; co < grp * ${coutG}u + ${coutG}u; co = co + 1u) {`);
  L.push(`    let plane = (b * ${cout}u + co) * ${ho * wo}u;`);
  L.push(`    let wc = co * ${cinG * kh * kw}u;`);
  if (scaleEps !== undefined) {
    L.push(`    let sc = gamma[co] * (1.0f / sqrt(rvar[co] + ${f32(scaleEps)}));`);
  }
  if (dh === 1 && sh > 1) {
    // only the rows i ≡ ih + ph (mod sh) reach an output row.
    L.push(`    for (var i = i32((ih + ${ph}u) % ${sh}u); i < ${kh}; i = i + ${sh}) {`);
  } else L.push(`    for (var i = 0; i < ${kh}; i = i + 1) {`);
  L.push(`      let th = i32(ih) + ${ph + shiftH * sh} - i * ${dh};`);
  L.push(`      let oh = th / ${sh} - ${shiftH};`);
  L.push(`      let rowOk = th % ${sh} == 0 && oh >= 0 && oh < ${ho};`);
  L.push(`      let row = plane + u32(clamp(oh, 0, ${ho - 1})) * ${wo}u;`);
  L.push(`      let wi = wc + u32(i) * ${kw}u;`);
  const span = tn + hi - lo;
  for (let t = 0; t < span; t++) {
    L.push(`      let c${t} = i32(q0) + ${lo + t};`);
    L.push(
      `      let d${t} = select(0.0f, dy[row + u32(clamp(c${t}, 0, ${wo - 1}))]${
        scaleEps === undefined ? "" : " * sc"
      }, rowOk && c${t} >= 0 && c${t} < ${wo});`,
    );
  }
  for (let q = 0; q < kw; q++) {
    for (let i = 0; i < tm; i++) {
      const wv = weightAt("wt", weights, `wi + wo${i} + ${q}u`);
      L.push(`      let w${i}_${q} = ${sw === 1 ? wv : `select(0.0f, ${wv}, ok${q})`};`);
    }
    for (let j = 0; j < tn; j++) {
      if (sw === 1) continue;
      let v = `d${j}`;
      for (let d = 1; d <= hi - lo; d++) v = `select(${v}, d${j + d}, off${q} == ${d})`;
      L.push(`      let v${q}_${j} = ${v};`);
    }
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn; j++) {
        const v = sw === 1 ? `d${j + pw - q * dw - lo}` : `v${q}_${j}`;
        L.push(`      acc${i}_${j} = fma(w${i}_${q}, ${v}, acc${i}_${j});`);
      }
    }
  }
  L.push(`    }`);
  L.push(`  }`);
  for (let i = 0; i < tm; i++) {
    const ciOk = ciTilesG * tm === cinG ? "" : ` && cl0 + ${i}u < ${cinG}u`;
    L.push(
      `  let xo${i} = ((b * ${cin}u + grp * ${cinG}u + cl0 + ${i}u) * ${h}u + ih) * ${w}u + p;`,
    );
    for (let j = 0; j < tn; j++) {
      L.push(
        `  if (live${ciOk} && p + (q0 + ${j}u) * ${sw}u < ${w}u) { let k${i}_${j} = xo${i} + (q0 + ${j}u) * ${sw}u; dx[k${i}_${j}] = ${
          withBase ? `base[k${i}_${j}] + ` : ""
        }acc${i}_${j}; }`,
      );
    }
  }
  const scaled = scaleEps === undefined ? [] : [storage(2, "gamma"), storage(3, "rvar")];
  const at = 2 + scaled.length;
  return frame(
    `conv2dGradInput${scaled.length ? "Scaled" : ""}${withBase ? "Base" : ""}_${tm}x${tn}${
      formatSuffix(weights)
    }`,
    [
      storage(0, "dy"),
      weightDecl(1, "wt", weights),
      ...scaled,
      ...(withBase ? [storage(at, "base"), storage(at + 1, "dx")] : [storage(at, "dx")]),
    ],
    count,
    wg,
    L,
  );
}

/** The default weight-gradient tiling (`tm` output × `tn` input channels, all `KW` taps of one row). */
export function conv2dGradWeightTiling(g: ConvGeometry): ConvTiling {
  const [cout, cinG, kh] = g.w;
  const coutG = cout / g.groups;
  const [tm, tn] = pickTile(
    [[8, 8], [8, 4], [4, 4], [4, 2], [2, 2], [1, 1]],
    (tm, tn) => g.groups * Math.ceil(coutG / tm) * Math.ceil(cinG / tn) * kh,
    32,
  );
  const inv = g.groups * Math.ceil(coutG / tm) * Math.ceil(cinG / tn) * kh;
  return { tm: Math.min(tm, coutG), tn: Math.min(tn, cinG), wg: inv >= 1024 ? 64 : 8 };
}

/**
 * Weight gradient `dw[co,c,i,j] = Σ_{b,oh,ow} dy[b,co,oh,ow] · x[b, g·Cin/G + c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]`.
 * Each invocation computes `tm` output channels × `tn` input channels × the
 * `KW` taps of one kernel row, reducing over the batch and output positions
 * four output columns at a time.
 */
export function conv2dGradWeight(
  g: ConvGeometry,
  tiling: ConvTiling = conv2dGradWeightTiling(g),
): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const coutG = cout / g.groups;
  const { tm, tn, wg } = tiling;
  const tj = 4;
  const dyVec = wo % 4 === 0;
  const coTilesG = Math.ceil(coutG / tm);
  const cTiles = Math.ceil(cinG / tn);
  const count = g.groups * coTilesG * cTiles * kh;
  const L: string[] = [];
  L.push(...unravel("t", ["ki", "cT", "coT"], [kh, cTiles, g.groups * coTilesG]));
  L.push(`  let grp = coT / ${coTilesG}u;`);
  L.push(`  let cl0 = (coT % ${coTilesG}u) * ${tm}u;`);
  L.push(`  let c0 = cT * ${tn}u;`);
  for (let i = 0; i < tm; i++) {
    L.push(`  let co${i} = grp * ${coutG}u + min(cl0 + ${i}u, ${coutG - 1}u);`);
  }
  for (let c = 0; c < tn; c++) {
    L.push(`  let ci${c} = grp * ${cinG}u + min(c0 + ${c}u, ${cinG - 1}u);`);
  }
  for (let i = 0; i < tm; i++) {
    for (let c = 0; c < tn; c++) {
      for (let q = 0; q < kw; q++) L.push(`  var acc${i}_${c}_${q} = 0.0f;`);
    }
  }
  L.push(`  for (var r = 0u; r < ${n * ho}u; r = r + 1u) {`);
  L.push(`    let b = r / ${ho}u;`);
  L.push(`    let oh = r % ${ho}u;`);
  L.push(`    let ih = i32(oh * ${sh}u) - ${ph} + i32(ki) * ${dh};`);
  L.push(`    let rowOk = ih >= 0 && ih < ${h};`);
  L.push(`    let ihc = u32(clamp(ih, 0, ${h - 1}));`);
  for (let i = 0; i < tm; i++) {
    L.push(`    let dyr${i} = ((b * ${cout}u + co${i}) * ${ho}u + oh) * ${wo}u;`);
  }
  for (let c = 0; c < tn; c++) {
    L.push(`    let xr${c} = ((b * ${cin}u + ci${c}) * ${h}u + ihc) * ${w}u;`);
  }
  L.push(`    for (var ow0 = 0u; ow0 < ${wo}u; ow0 = ow0 + ${tj}u) {`);
  L.push(`      let iwb = i32(ow0 * ${sw}u) - ${pw};`);
  for (let i = 0; i < tm; i++) {
    if (dyVec) L.push(`      let d${i} = dy[(dyr${i} + ow0) / 4u];`);
    else {
      const parts: string[] = [];
      for (let j = 0; j < tj; j++) {
        parts.push(
          `select(0.0f, dy[dyr${i} + min(ow0 + ${j}u, ${wo - 1}u)], ow0 + ${j}u < ${wo}u)`,
        );
      }
      L.push(`      let d${i} = vec4<f32>(${parts.join(", ")});`);
    }
  }
  const taps = new Set<number>();
  for (let j = 0; j < tj; j++) for (let q = 0; q < kw; q++) taps.add(j * sw + q * dw);
  for (const o of [...taps].sort((a, b) => a - b)) {
    L.push(`      let iw${o} = iwb + ${o};`);
    L.push(`      let ok${o} = rowOk && iw${o} >= 0 && iw${o} < ${w};`);
    L.push(`      let ix${o} = u32(clamp(iw${o}, 0, ${w - 1}));`);
    for (let c = 0; c < tn; c++) {
      L.push(`      let x${c}_${o} = select(0.0f, x[xr${c} + ix${o}], ok${o});`);
    }
  }
  for (let j = 0; j < tj; j++) {
    for (let i = 0; i < tm; i++) {
      for (let c = 0; c < tn; c++) {
        for (let q = 0; q < kw; q++) {
          L.push(
            `      acc${i}_${c}_${q} = fma(d${i}[${j}], x${c}_${
              j * sw + q * dw
            }, acc${i}_${c}_${q});`,
          );
        }
      }
    }
  }
  L.push(`    }`);
  L.push(`  }`);
  for (let i = 0; i < tm; i++) {
    const coOk = coTilesG * tm === coutG ? "" : ` && cl0 + ${i}u < ${coutG}u`;
    for (let c = 0; c < tn; c++) {
      const cOk = cTiles * tn === cinG ? "" : ` && c0 + ${c}u < ${cinG}u`;
      L.push(`  let dwo${i}_${c} = ((co${i} * ${cinG}u + c0 + ${c}u) * ${kh}u + ki) * ${kw}u;`);
      for (let q = 0; q < kw; q++) {
        L.push(`  if (live${coOk}${cOk}) { dw[dwo${i}_${c} + ${q}u] = acc${i}_${c}_${q}; }`);
      }
    }
  }
  return frame(
    `conv2dGradWeight_${tm}x${tn}`,
    [storage(0, "x"), storage(1, "dy", dyVec), storage(2, "dw")],
    count,
    wg,
    L,
  );
}
