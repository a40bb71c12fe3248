/**
 * Depthwise convolution (groups = Cin = Cout, one `KH×KW` filter per
 * channel): forward, input gradient and weight gradient, any stride,
 * padding and dilation, shapes baked in as constants.
 *
 * Each invocation walks a strip of one channel plane down the rows: it
 * keeps the channel's filter and a window of source rows in registers,
 * and at each step loads only the rows that enter the window, so every
 * source element is loaded about once (a general conv kernel with one
 * channel per tile reloads each row once per filter row). Every output is
 * a fixed sum of `w[k] · src[row + a, col + b]` terms:
 * - forward: `y[oh, ow]` from `x[oh·sh + i·dh − ph, ow·sw + j·dw − pw]`;
 * - input gradient: each step writes an `sh × sw` block of `dx` (one
 *   element per stride phase), `dx[qy·sh + ry, qx·sw + rx]` from
 *   `dy[qy + (ry + ph − i·dh)/sh, qx + (rx + pw − j·dw)/sw]` over the taps
 *   where the division is exact, so no tap is tested at run time;
 * - weight gradient: the forward's terms with `dy` in place of the filter,
 *   summed over each strip into per-strip partial sums (scratch), which a
 *   second dispatch adds up per channel and tap: no workgroup memory, no
 *   barriers, no atomics.
 *
 * Bindings follow `conv2d.ts`: {@linkcode depthwiseConv2d} 0 `x`, 1 `wt`,
 * 2 `y`; {@linkcode depthwiseGradInput} 0 `dy`, 1 `wt`, 2 `dx` (with a base:
 * 2 `base`, 3 `dx`); {@linkcode depthwiseGradWeight} 0 `x`, 1 `dy`, 2 `dw`,
 * 3 scratch. The forward and input gradient read a frozen f16/u8 weight
 * packed ({@linkcode WeightFormat}).
 * @module
 */
import type { ConvGeometry } from "../lib/graph/mod.ts";
import { F32_WEIGHTS, formatSuffix, weightAt, weightDecl, type WeightFormat } from "./weights.ts";
import { f32, frame, type Kernel, type Lowering } from "./wgsl.ts";
import type { ConvEpilogue } from "./conv2d.ts";

/** True when `g` is a depthwise convolution: groups = Cin = Cout. */
export function isDepthwise(g: ConvGeometry): boolean {
  const [, cin] = g.x;
  const [cout, cinG] = g.w;
  return g.groups === cin && cout === cin && cinG === 1;
}

/**
 * Whether every input pixel is read by some tap of some output pixel. The
 * input-gradient kernel writes only the pixels that taps reach; where one is
 * never read (a 1×1 filter at stride 3, a dilated filter that jumps over a
 * border pixel) the general kernel computes the gradient.
 */
export function everyInputTapped(g: ConvGeometry): boolean {
  const axis = (size: number, out: number, k: number, s: number, p: number, d: number) => {
    const read = new Uint8Array(size);
    for (let o = 0; o < out; o++) {
      for (let t = 0; t < k; t++) {
        const i = o * s - p + t * d;
        if (i >= 0 && i < size) read[i] = 1;
      }
    }
    return read.every((r) => r === 1);
  };
  return axis(g.x[2], g.y[2], g.w[2], g.stride[0], g.padding[0], g.dilation[0]) &&
    axis(g.x[3], g.y[3], g.w[3], g.stride[1], g.padding[1], g.dilation[1]);
}

/** Strip of a depthwise kernel: destination column blocks and row steps per invocation. */
export interface DepthwiseTiling {
  /** Column blocks per invocation (a block is `sw` columns for the input gradient, else 1). */
  readonly cols: number;
  /** Row steps per invocation (a step is `sh` rows for the input gradient, else 1). */
  readonly rows: number;
  /** Invocations per workgroup. */
  readonly wg: number;
}

/** One term `w[k] · src[step·SR + a, block·SC + b]` of a destination element. */
interface Term {
  readonly k: number;
  readonly a: number;
  readonly b: number;
}

/** The sliding-window form of one pass. */
interface Walk {
  /** Source plane `[Hs, Ws]` (what the window holds). */
  readonly src: readonly [number, number];
  /** Destination plane `[Hd, Wd]` (written, or for the weight gradient read: `dy`). */
  readonly dst: readonly [number, number];
  /** Destination rows and columns per step and block. */
  readonly block: readonly [number, number];
  /** Source rows and columns the window advances per step and block. */
  readonly advance: readonly [number, number];
  /** Terms of each destination element of a block, `[ry][rx]`. */
  readonly terms: readonly (readonly (readonly Term[])[])[];
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

function forwardWalk(g: ConvGeometry): Walk {
  const [, , h, w] = g.x;
  const [, , kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const terms: Term[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      terms.push({
        k: i * kw + j,
        a: i * g.dilation[0] - g.padding[0],
        b: j * g.dilation[1] - g.padding[1],
      });
    }
  }
  return { src: [h, w], dst: [ho, wo], block: [1, 1], advance: g.stride, terms: [[terms]] };
}

function gradInputWalk(g: ConvGeometry): Walk {
  const [, , h, w] = g.x;
  const [, , kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const terms = Array.from({ length: sh }, (_, ry) =>
    Array.from({ length: sw }, (_, rx) => {
      const out: Term[] = [];
      for (let i = 0; i < kh; i++) {
        const ea = ry + ph - i * dh;
        if (mod(ea, sh) !== 0) continue;
        for (let j = 0; j < kw; j++) {
          const eb = rx + pw - j * dw;
          if (mod(eb, sw) === 0) out.push({ k: i * kw + j, a: ea / sh, b: eb / sw });
        }
      }
      return out;
    }));
  return { src: [ho, wo], dst: [h, w], block: [sh, sw], advance: [1, 1], terms };
}

/**
 * The default strip: up to 16 destination columns (a multiple of 4 when the
 * rows allow `vec4` access), rows split while invocations are fewer than `target`.
 */
export function depthwiseTiling(
  g: ConvGeometry,
  pass: "forward" | "gradInput" | "gradWeight",
  target = 2048,
): DepthwiseTiling {
  const walk = pass === "gradInput" ? gradInputWalk(g) : forwardWalk(g);
  const [n, c] = g.x;
  const [bh, bw] = walk.block;
  const qx = Math.ceil(walk.dst[1] / bw);
  const qy = Math.ceil(walk.dst[0] / bh);
  const most = Math.max(1, Math.floor(16 / bw));
  // column blocks whose rows are whole vec4s of both planes, when the planes' rows are.
  const aligned = (q: number) =>
    walk.dst[1] % 4 === 0 && walk.src[1] % 4 === 0 && (q * bw) % 4 === 0 &&
    (q * walk.advance[1]) % 4 === 0;
  const fits = Array.from({ length: most }, (_, i) => i + 1).filter(aligned);
  let cols = Math.ceil(qx / Math.ceil(qx / most));
  if (fits.length > 0 && qx > 1) {
    // the fewest loaded columns per row: tiles × (tile width + the filter's overhang).
    const cost = (q: number) => Math.ceil(qx / q) * (q * walk.advance[1] + g.w[3]);
    cols = fits.reduce((best, q) => (cost(q) <= cost(best) ? q : best));
  }
  const xTiles = Math.ceil(qx / cols);
  const yTiles = Math.min(qy, Math.max(1, Math.ceil(target / (n * c * xTiles))));
  const rows = Math.ceil(qy / yTiles);
  return { cols, rows, wg: 64 };
}

function storage(i: number, name: string, vec4 = false): string {
  return `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${
    vec4 ? "vec4<f32>" : "f32"
  }>;`;
}

/** How a walk is laid out under a tiling. */
interface Layout {
  /** Column tiles and row tiles per plane. */
  readonly xT: number;
  readonly yT: number;
  /** Row offset of window slot 0, slots, and slots carried from one step to the next. */
  readonly amin: number;
  readonly slots: number;
  readonly keep: number;
  /** Column offset of window column 0, and the window columns in use. */
  readonly bmin: number;
  readonly offs: readonly number[];
  /** Source rows load as vec4 (whole quads, aligned at every tile). */
  readonly vecSrc: boolean;
  /** Destination rows store (or, weight gradient, load) as vec4. */
  readonly vecDst: boolean;
}

function layoutOf(walk: Walk, t: DepthwiseTiling): Layout {
  const [, ws] = walk.src;
  const [, wd] = walk.dst;
  const [sr, sc] = walk.advance;
  const qx = Math.ceil(wd / walk.block[1]);
  const qy = Math.ceil(walk.dst[0] / walk.block[0]);
  const all = walk.terms.flat(2);
  const amin = Math.min(...all.map((u) => u.a)), amax = Math.max(...all.map((u) => u.a));
  const bmin = Math.min(...all.map((u) => u.b));
  const cols = new Set<number>();
  for (const u of all) for (let q = 0; q < t.cols; q++) cols.add(q * sc + u.b - bmin);
  const slots = amax - amin + 1;
  return {
    xT: Math.ceil(qx / t.cols),
    yT: Math.ceil(qy / t.rows),
    amin,
    slots,
    keep: Math.max(0, slots - sr),
    bmin,
    offs: [...cols].sort((a, b) => a - b),
    vecSrc: ws % 4 === 0 && (t.cols * sc) % 4 === 0,
    vecDst: wd % 4 === 0 && (t.cols * walk.block[1]) % 4 === 0,
  };
}

/**
 * The WGSL body of a walk: invocation `t` → plane `p = b·C + ch` and strip
 * `(qxT, qyT)`, then `head`, then one loop iteration per row step `qy` that
 * loads the rows entering the window and runs `step`, whose `win(term, q)`
 * names the register holding a term's source value for column block `q`,
 * then `tail`. Window columns outside the plane at every tile (one tile per
 * row) are not loaded.
 */
function walkBody(
  g: ConvGeometry,
  walk: Walk,
  t: DepthwiseTiling,
  src: string,
  head: string[],
  step: (win: (term: Term, block: number) => string) => string[],
  tail: string[],
): string[] {
  const [n, c] = g.x;
  const [hs, ws] = walk.src;
  const [sr, sc] = walk.advance;
  const { xT, yT, amin, slots, keep, bmin, offs, vecSrc } = layoutOf(walk, t);
  // a column's validity is known here when every tile starts at column 0.
  const known = (col: number) => xT === 1 ? col >= 0 && col < ws : undefined;
  const L: string[] = [
    `  let qxT = t % ${xT}u;`,
    `  let qyT = (t / ${xT}u) % ${yT}u;`,
    `  let p = min(t / ${xT * yT}u, ${n * c - 1}u);`,
    `  let ch = p % ${c}u;`,
    `  let qx0 = qxT * ${t.cols}u;`,
    `  let qy0 = qyT * ${t.rows}u;`,
    `  let sp = p * ${hs * ws}u;`,
    ...head,
  ];
  // quads (vec4) or single columns the window loads, each with its validity.
  const units = vecSrc
    ? [...new Set(offs.map((o) => Math.floor((o + bmin) / 4)))]
    : offs.map((o) => o + bmin);
  const width = vecSrc ? 4 : 1;
  const live = units.filter((u) => known(u * width) !== false);
  for (const u of live) {
    const name = `${u < 0 ? "m" : ""}${Math.abs(u)}`;
    L.push(`  let cc${name} = i32(qx0 * ${sc}u) + ${u * width};`);
    L.push(`  let ck${name} = cc${name} >= 0 && cc${name} < ${ws};`);
    L.push(`  let cx${name} = u32(clamp(cc${name}, 0, ${ws - width})) / ${width}u;`);
  }
  const load = (slot: number, qy: string) => {
    const r = `r${slot}`;
    const out = [
      `    let ${r} = i32(${qy} * ${sr}u) + ${amin + slot};`,
      `    let ${r}k = ${r} >= 0 && ${r} < ${hs};`,
      `    let ${r}b = (sp + u32(clamp(${r}, 0, ${hs - 1})) * ${ws}u) / ${width}u;`,
    ];
    for (const u of live) {
      const name = `${u < 0 ? "m" : ""}${Math.abs(u)}`;
      const ok = known(u * width) === true ? `${r}k` : `${r}k && ck${name}`;
      if (!vecSrc) {
        out.push(`    s${slot}_${u - bmin} = select(0.0f, ${src}[${r}b + cx${name}], ${ok});`);
        continue;
      }
      out.push(
        `    let v${slot}_${name} = select(vec4<f32>(0.0f), ${src}[${r}b + cx${name}], ${ok});`,
      );
      for (const o of offs) {
        if (Math.floor((o + bmin) / 4) === u) {
          out.push(`    s${slot}_${o} = v${slot}_${name}[${mod(o + bmin, 4)}];`);
        }
      }
    }
    return out;
  };
  for (let s = 0; s < slots; s++) for (const o of offs) L.push(`  var s${s}_${o} = 0.0f;`);
  // the slots the first step shares with the step before it, loaded up front.
  L.push(`  {`);
  for (let s = 0; s < keep; s++) L.push(...load(s, "qy0"));
  L.push(`  }`);
  L.push(`  for (var r = 0u; r < ${t.rows}u; r = r + 1u) {`);
  L.push(`    let qy = qy0 + r;`);
  for (let s = keep; s < slots; s++) L.push(...load(s, "qy"));
  const win = (u: Term, q: number) => `s${u.a - amin}_${q * sc + u.b - bmin}`;
  L.push(...step(win));
  for (let s = 0; s < keep; s++) for (const o of offs) L.push(`    s${s}_${o} = s${s + sr}_${o};`);
  L.push(`  }`);
  L.push(...tail);
  return L;
}

function filterLoads(walk: Walk, kk: number, weights: WeightFormat): string[] {
  const used = new Set(walk.terms.flat(2).map((u) => u.k));
  return [...used].sort((a, b) => a - b).map((k) =>
    `  let w${k} = ${weightAt("wt", weights, `ch * ${kk}u + ${k}u`)};`
  );
}

/**
 * `live` and, where some tile reaches past the destination plane, that
 * row `qy·bh + ry` and column `col` (offset `j` in its tile) are inside it.
 */
function inside(walk: Walk, t: DepthwiseTiling, ry: number, col: string, j: number): string {
  const [hd, wd] = walk.dst;
  const [bh, bw] = walk.block;
  const { xT, yT } = layoutOf(walk, t);
  const parts = ["live"];
  if ((yT * t.rows - 1) * bh + ry >= hd) parts.push(`qy * ${bh}u + ${ry}u < ${hd}u`);
  if ((xT - 1) * t.cols * bw + j >= wd) parts.push(`${col} < ${wd}u`);
  return parts.join(" && ");
}

/**
 * Stores (`vec4` when the layout allows) of a row of values at `row`,
 * columns `qx0·bw + j`, each value (and the index it is stored at) passed
 * through `wrap`.
 */
function storeRow(
  walk: Walk,
  t: DepthwiseTiling,
  ry: number,
  row: string,
  values: readonly string[],
  out: string,
  wrap: (v: string, at: string) => string = (v) => v,
): string[] {
  const bw = walk.block[1];
  const L: string[] = [];
  const vec = layoutOf(walk, t).vecDst;
  const step = vec ? 4 : 1;
  for (let j = 0; j < values.length; j += step) {
    const col = `qx0 * ${bw}u + ${j}u`;
    const ok = inside(walk, t, ry, col, j);
    const at = vec ? `(${row} + qx0 * ${bw}u) / 4u + ${j / 4}u` : `${row} + ${col}`;
    const v = vec ? `vec4<f32>(${values.slice(j, j + 4).join(", ")})` : values[j];
    L.push(`    if (${ok}) { ${out}[${at}] = ${wrap(v, at)}; }`);
  }
  return L;
}

/**
 * Forward depthwise convolution `y = conv2d(x, wt)` (bindings 0 `x`, 1 `wt`,
 * 2 `y`); with a {@linkcode ConvEpilogue}, `bn(conv2d(x, wt)) + Σ addends`
 * with `conv2d.ts`'s bindings and float operations (2 `gamma`, 3 `beta`,
 * 4 `rmean`, 5 `rvar`, one binding per addend, then `y`).
 */
export function depthwiseConv2d(
  g: ConvGeometry,
  tiling: DepthwiseTiling = depthwiseTiling(g, "forward"),
  weights: WeightFormat = F32_WEIGHTS,
  epilogue?: ConvEpilogue,
): Kernel {
  const walk = forwardWalk(g);
  const [n, c] = g.x;
  const [, , kh, kw] = g.w;
  const [ho, wo] = walk.dst;
  const lay = layoutOf(walk, tiling);
  const head = filterLoads(walk, kh * kw, weights);
  if (epilogue) head.push(`  let inv = 1.0f / sqrt(rvar[ch] + ${f32(epilogue.eps)});`);
  const wrap = (v: string, at: string) =>
    epilogue
      ? epilogue.addends.reduce(
        (sum, a, q) => `(${sum} + a${q}[${a === "full" ? at : "p"}])`,
        `((${v} - rmean[ch]) * inv * gamma[ch] + beta[ch])`,
      )
      : v;
  const body = walkBody(g, walk, tiling, "x", head, (win) => {
    const values = Array.from(
      { length: tiling.cols },
      (_, q) => walk.terms[0][0].reduce((acc, u) => `fma(w${u.k}, ${win(u, q)}, ${acc})`, "0.0f"),
    );
    return [
      ...values.map((v, q) => `    let o${q} = ${v};`),
      ...storeRow(
        walk,
        tiling,
        0,
        `(p * ${ho}u + qy) * ${wo}u`,
        values.map((_, q) => `o${q}`),
        "y",
        wrap,
      ),
    ];
  }, []);
  const fused = epilogue
    ? [
      ...["gamma", "beta", "rmean", "rvar"].map((name, k) => storage(2 + k, name)),
      ...epilogue.addends.map((a, q) => storage(6 + q, `a${q}`, a === "full" && lay.vecDst)),
    ]
    : [];
  const name = epilogue ? `depthwiseBn${epilogue.addends.map((a) => a[0]).join("")}` : "depthwise";
  return frame(
    `${name}_${tiling.cols}x${tiling.rows}${formatSuffix(weights)}`,
    [
      storage(0, "x", lay.vecSrc),
      weightDecl(1, "wt", weights),
      ...fused,
      storage(2 + fused.length, "y", lay.vecDst),
    ],
    n * c * lay.xT * lay.yT,
    tiling.wg,
    body,
  );
}

/**
 * Input gradient of a depthwise convolution (bindings 0 `dy`, 1 `wt`, 2 `dx`;
 * `withBase`: 2 `base`, 3 `dx`, `dx = base + ∂x`, `dx` may share `base`'s
 * bytes). With `scaleEps`, `dy` is read times its batch norm's
 * `γ/√(σ²+ε)` (`conv2d.ts`'s bindings: `gamma` and `rvar` right after `wt`),
 * which for one channel per invocation scales the filter once.
 */
export function depthwiseGradInput(
  g: ConvGeometry,
  tiling: DepthwiseTiling = depthwiseTiling(g, "gradInput"),
  withBase = false,
  weights: WeightFormat = F32_WEIGHTS,
  scaleEps?: number,
): Kernel {
  const walk = gradInputWalk(g);
  const [n, c, h, w] = g.x;
  const [, , kh, kw] = g.w;
  const [sh, sw] = g.stride;
  const lay = layoutOf(walk, tiling);
  const head = filterLoads(walk, kh * kw, weights);
  if (scaleEps !== undefined) {
    head.push(`  let sc = gamma[ch] * (1.0f / sqrt(rvar[ch] + ${f32(scaleEps)}));`);
  }
  const wk = (k: number) => (scaleEps === undefined ? `w${k}` : `(w${k} * sc)`);
  const body = walkBody(g, walk, tiling, "dy", head, (win) => {
    const L: string[] = [];
    for (let ry = 0; ry < sh; ry++) {
      const values: string[] = [];
      for (let q = 0; q < tiling.cols; q++) {
        for (let rx = 0; rx < sw; rx++) {
          const sum = walk.terms[ry][rx].reduce(
            (acc, u) => `fma(${wk(u.k)}, ${win(u, q)}, ${acc})`,
            "0.0f",
          );
          L.push(`    let o${ry}_${q * sw + rx} = ${sum};`);
          values.push(`o${ry}_${q * sw + rx}`);
        }
      }
      const row = `(p * ${h}u + qy * ${sh}u + ${ry}u) * ${w}u`;
      const wrap = withBase ? (v: string, at: string) => `base[${at}] + ${v}` : undefined;
      L.push(...storeRow(walk, tiling, ry, row, values, "dx", wrap));
    }
    return L;
  }, []);
  const v = lay.vecDst;
  const scaled = scaleEps === undefined ? [] : [storage(2, "gamma"), storage(3, "rvar")];
  const at = 2 + scaled.length;
  return frame(
    `depthwiseGradInput${scaled.length ? "Scaled" : ""}${
      withBase ? "Base" : ""
    }_${tiling.cols}x${tiling.rows}${formatSuffix(weights)}`,
    [
      storage(0, "dy", lay.vecSrc),
      weightDecl(1, "wt", weights),
      ...scaled,
      ...(withBase ? [storage(at, "base", v), storage(at + 1, "dx", v)] : [storage(at, "dx", v)]),
    ],
    n * c * lay.xT * lay.yT,
    tiling.wg,
    body,
  );
}

/**
 * Weight gradient of a depthwise convolution: two dispatches over bindings
 * 0 `x`, 1 `dy`, 2 `dw`, 3 scratch (the per-strip partial sums, `scratchBytes`).
 */
export function depthwiseGradWeight(
  g: ConvGeometry,
  tiling: DepthwiseTiling = depthwiseTiling(g, "gradWeight"),
): Lowering {
  const walk = forwardWalk(g);
  const [n, c] = g.x;
  const [, , kh, kw] = g.w;
  const kk = kh * kw;
  const [ho, wo] = walk.dst;
  const lay = layoutOf(walk, tiling);
  const parts = n * lay.xT * lay.yT;
  const terms = walk.terms[0][0];
  const decls = [
    storage(0, "x", lay.vecSrc),
    storage(1, "dy", lay.vecDst),
    storage(2, "dw"),
    storage(3, "scratch"),
  ];
  const head = terms.map((u) => `  var a${u.k} = 0.0f;`);
  head.push(`  let dp = p * ${ho * wo}u;`);
  const body = walkBody(g, walk, tiling, "x", head, (win) => {
    const L: string[] = [];
    const row = `dp + min(qy, ${ho - 1}u) * ${wo}u`;
    const step = lay.vecDst ? 4 : 1;
    for (let j = 0; j < tiling.cols; j += step) {
      const col = `qx0 + ${j}u`;
      const ok = inside(walk, tiling, 0, col, j);
      if (lay.vecDst) {
        L.push(
          `    let d${j / 4} = select(vec4<f32>(0.0f), dy[(${row} + min(${col}, ${
            wo - 4
          }u)) / 4u], ${ok});`,
        );
      } else {
        L.push(`    let d${j} = select(0.0f, dy[${row} + min(${col}, ${wo - 1}u)], ${ok});`);
      }
    }
    const d = (q: number) => (lay.vecDst ? `d${Math.floor(q / 4)}[${q % 4}]` : `d${q}`);
    for (const u of terms) {
      for (let q = 0; q < tiling.cols; q++) {
        L.push(`    a${u.k} = fma(${d(q)}, ${win(u, q)}, a${u.k});`);
      }
    }
    return L;
  }, [
    // partial sums at scratch[(ch·KK + k)·parts + part], part = (b·yT + qyT)·xT + qxT.
    `  let part = ((p / ${c}u) * ${lay.yT}u + qyT) * ${lay.xT}u + qxT;`,
    ...terms.map((u) =>
      `  if (live) { scratch[(ch * ${kk}u + ${u.k}u) * ${parts}u + part] = a${u.k}; }`
    ),
  ]);
  const partial = frame(
    `depthwiseGradWeightParts_${tiling.cols}x${tiling.rows}`,
    decls,
    n * c * lay.xT * lay.yT,
    tiling.wg,
    body,
  );
  const sum = frame("depthwiseGradWeightSum", decls, c * kk, 64, [
    `  let o = min(t, ${c * kk - 1}u);`,
    `  var s = 0.0f;`,
    `  for (var i = 0u; i < ${parts}u; i = i + 1u) { s = s + scratch[o * ${parts}u + i]; }`,
    `  if (live) { dw[o] = s; }`,
  ]);
  return { kernels: [partial, sum], scratchBytes: 4 * c * kk * parts };
}
