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
import { grid, type Kernel, type Lowering } from "./wgsl.ts";

/** True when `g` is a depthwise convolution: groups = Cin = Cout. */
export function isDepthwise(g: ConvGeometry): boolean {
  const [, cin] = g.x;
  const [cout, cinG] = g.w;
  return g.groups === cin && cout === cin && cinG === 1;
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

/** The default strip: up to 16 destination columns, rows split while invocations are few. */
export function depthwiseTiling(
  g: ConvGeometry,
  pass: "forward" | "gradInput" | "gradWeight",
  target = 2048,
): DepthwiseTiling {
  const walk = pass === "gradInput" ? gradInputWalk(g) : forwardWalk(g);
  const [n, c] = g.x;
  const qx = Math.ceil(walk.dst[1] / walk.block[1]);
  const qy = Math.ceil(walk.dst[0] / walk.block[0]);
  const xTiles = Math.ceil(qx / Math.max(1, Math.floor(16 / walk.block[1])));
  const cols = Math.ceil(qx / xTiles);
  const yTiles = Math.min(qy, Math.max(1, Math.ceil(target / (n * c * xTiles))));
  const rows = Math.ceil(qy / yTiles);
  return { cols, rows, wg: 64 };
}

function storage(i: number, name: string): string {
  return `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<f32>;`;
}

/** Tile counts of a walk under a tiling. */
function tiles(walk: Walk, t: DepthwiseTiling): { x: number; y: number } {
  const qx = Math.ceil(walk.dst[1] / walk.block[1]);
  const qy = Math.ceil(walk.dst[0] / walk.block[0]);
  return { x: Math.ceil(qx / t.cols), y: Math.ceil(qy / t.rows) };
}

/**
 * The WGSL body of a walk: invocation `t` → plane `p = b·C + ch` and strip
 * `(qxT, qyT)`, then `head`, then one loop iteration per row step `qy` that
 * loads the rows entering the window and runs `step`, whose `win(term, q)`
 * names the register holding a term's source value for column block `q`,
 * then `tail`.
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
  const all = walk.terms.flat(2);
  const amin = Math.min(...all.map((u) => u.a)), amax = Math.max(...all.map((u) => u.a));
  const bmin = Math.min(...all.map((u) => u.b));
  const slots = amax - amin + 1;
  const cols = new Set<number>();
  for (const u of all) for (let q = 0; q < t.cols; q++) cols.add(q * sc + u.b - bmin);
  const offs = [...cols].sort((a, b) => a - b);
  const { x: xT, y: yT } = tiles(walk, t);
  const keep = Math.max(0, slots - sr);
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
  for (const o of offs) {
    L.push(`  let cc${o} = i32(qx0 * ${sc}u) + ${o + bmin};`);
    L.push(`  let ck${o} = cc${o} >= 0 && cc${o} < ${ws};`);
    L.push(`  let cx${o} = u32(clamp(cc${o}, 0, ${ws - 1}));`);
  }
  const load = (slot: number, qy: string) => {
    const r = `r${slot}`;
    const out = [
      `    let ${r} = i32(${qy} * ${sr}u) + ${amin + slot};`,
      `    let ${r}k = ${r} >= 0 && ${r} < ${hs};`,
      `    let ${r}b = sp + u32(clamp(${r}, 0, ${hs - 1})) * ${ws}u;`,
    ];
    for (const o of offs) {
      out.push(`    s${slot}_${o} = select(0.0f, ${src}[${r}b + cx${o}], ${r}k && ck${o});`);
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

function kernelOf(
  name: string,
  decls: string[],
  count: number,
  wg: number,
  body: string[],
): Kernel {
  const dispatch = grid(Math.ceil(count / wg));
  const code = [
    ...decls,
    `@compute @workgroup_size(${wg})`,
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>) {`,
    `  let t = gid.x + gid.y * ${dispatch[0] * wg}u;`,
    `  let live = t < ${count}u;`,
    ...body,
    `}`,
    ``,
  ].join("\n");
  return { name, code, dispatch };
}

function filterLoads(walk: Walk, kk: number, weights: WeightFormat): string[] {
  const used = new Set(walk.terms.flat(2).map((u) => u.k));
  return [...used].sort((a, b) => a - b).map((k) =>
    `  let w${k} = ${weightAt("wt", weights, `ch * ${kk}u + ${k}u`)};`
  );
}

/** Forward depthwise convolution `y = conv2d(x, wt)` (bindings 0 `x`, 1 `wt`, 2 `y`). */
export function depthwiseConv2d(
  g: ConvGeometry,
  tiling: DepthwiseTiling = depthwiseTiling(g, "forward"),
  weights: WeightFormat = F32_WEIGHTS,
): Kernel {
  const walk = forwardWalk(g);
  const [n, c] = g.x;
  const [, , kh, kw] = g.w;
  const [ho, wo] = walk.dst;
  const { x: xT, y: yT } = tiles(walk, tiling);
  const body = walkBody(g, walk, tiling, "x", filterLoads(walk, kh * kw, weights), (win) => {
    const L: string[] = [];
    for (let q = 0; q < tiling.cols; q++) {
      const sum = walk.terms[0][0].reduce((acc, u) => `fma(w${u.k}, ${win(u, q)}, ${acc})`, "0.0f");
      const ok = (qx: string) => `live && qy < ${ho}u && ${qx} < ${wo}u`;
      L.push(
        `    if (${ok(`qx0 + ${q}u`)}) { y[(p * ${ho}u + qy) * ${wo}u + qx0 + ${q}u] = ${sum}; }`,
      );
    }
    return L;
  }, []);
  return kernelOf(
    `depthwise_${tiling.cols}x${tiling.rows}${formatSuffix(weights)}`,
    [storage(0, "x"), weightDecl(1, "wt", weights), storage(2, "y")],
    n * c * xT * yT,
    tiling.wg,
    body,
  );
}

/**
 * Input gradient of a depthwise convolution (bindings 0 `dy`, 1 `wt`, 2 `dx`;
 * `withBase`: 2 `base`, 3 `dx`, `dx = base + ∂x`, `dx` may share `base`'s bytes).
 */
export function depthwiseGradInput(
  g: ConvGeometry,
  tiling: DepthwiseTiling = depthwiseTiling(g, "gradInput"),
  withBase = false,
  weights: WeightFormat = F32_WEIGHTS,
): Kernel {
  const walk = gradInputWalk(g);
  const [n, c, h, w] = g.x;
  const [, , kh, kw] = g.w;
  const [sh, sw] = g.stride;
  const { x: xT, y: yT } = tiles(walk, tiling);
  const body = walkBody(g, walk, tiling, "dy", filterLoads(walk, kh * kw, weights), (win) => {
    const L: string[] = [];
    for (let ry = 0; ry < sh; ry++) {
      L.push(`    let ih${ry} = qy * ${sh}u + ${ry}u;`);
      L.push(`    let xr${ry} = (p * ${h}u + ih${ry}) * ${w}u;`);
      for (let q = 0; q < tiling.cols; q++) {
        for (let rx = 0; rx < sw; rx++) {
          const sum = walk.terms[ry][rx].reduce(
            (acc, u) => `fma(w${u.k}, ${win(u, q)}, ${acc})`,
            "0.0f",
          );
          const iw = `qx0 * ${sw}u + ${q * sw + rx}u`;
          const k = `xr${ry} + ${iw}`;
          L.push(
            `    if (live && ih${ry} < ${h}u && ${iw} < ${w}u) { dx[${k}] = ${
              withBase ? `base[${k}] + ` : ""
            }${sum}; }`,
          );
        }
      }
    }
    return L;
  }, []);
  return kernelOf(
    `depthwiseGradInput${withBase ? "Base" : ""}_${tiling.cols}x${tiling.rows}${
      formatSuffix(weights)
    }`,
    withBase
      ? [storage(0, "dy"), weightDecl(1, "wt", weights), storage(2, "base"), storage(3, "dx")]
      : [storage(0, "dy"), weightDecl(1, "wt", weights), storage(2, "dx")],
    n * c * xT * yT,
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
  const { x: xT, y: yT } = tiles(walk, tiling);
  const parts = n * xT * yT;
  const terms = walk.terms[0][0];
  const decls = [storage(0, "x"), storage(1, "dy"), storage(2, "dw"), storage(3, "scratch")];
  const head = terms.map((u) => `  var a${u.k} = 0.0f;`);
  head.push(`  let dp = p * ${ho * wo}u;`);
  const body = walkBody(g, walk, tiling, "x", head, (win) => {
    const L: string[] = [];
    for (let q = 0; q < tiling.cols; q++) {
      const ok = `qy < ${ho}u && qx0 + ${q}u < ${wo}u`;
      const at = `dp + min(qy, ${ho - 1}u) * ${wo}u + min(qx0 + ${q}u, ${wo - 1}u)`;
      L.push(`    let d${q} = select(0.0f, dy[${at}], ${ok});`);
    }
    for (const u of terms) {
      for (let q = 0; q < tiling.cols; q++) {
        L.push(`    a${u.k} = fma(d${q}, ${win(u, q)}, a${u.k});`);
      }
    }
    return L;
  }, [
    // partial sums at scratch[(ch·KK + k)·parts + part], part = (b·yT + qyT)·xT + qxT.
    `  let part = ((p / ${c}u) * ${yT}u + qyT) * ${xT}u + qxT;`,
    ...terms.map((u) =>
      `  if (live) { scratch[(ch * ${kk}u + ${u.k}u) * ${parts}u + part] = a${u.k}; }`
    ),
  ]);
  const partial = kernelOf(
    `depthwiseGradWeightParts_${tiling.cols}x${tiling.rows}`,
    decls,
    n * c * xT * yT,
    tiling.wg,
    body,
  );
  const sum = kernelOf("depthwiseGradWeightSum", decls, c * kk, 64, [
    `  let o = min(t, ${c * kk - 1}u);`,
    `  var s = 0.0f;`,
    `  for (var i = 0u; i < ${parts}u; i = i + 1u) { s = s + scratch[o * ${parts}u + i]; }`,
    `  if (live) { dw[o] = s; }`,
  ]);
  return { kernels: [partial, sum], scratchBytes: 4 * c * kk * parts };
}
