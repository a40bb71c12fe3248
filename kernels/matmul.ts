/**
 * A register-blocked WGSL matrix product `c = op(a) · op(b)` (f32, row-major),
 * shapes and transposes baked in as constants.
 *
 * Each invocation accumulates a `tm × tn` tile of `c` in registers and
 * reads its operands straight from storage, with no workgroup memory and no
 * barriers. On Mesa's CPU drivers (lavapipe, llvmpipe) invocations run in SIMD
 * lanes and every storage load is a per-lane gather, so the kernel is shaped to
 * do many multiply-adds per loaded value and to load `vec4`s wherever an
 * operand is contiguous along `k` or along the tile (see `kernels/README.md`).
 *
 * Bindings (all `var<storage, read_write>`, indexed from element 0, the caller
 * places each by its binding offset): 0 `a`, 1 `b`, 2 `c`. A binding is
 * `array<vec4<f32>>` when the kernel loads it as `vec4` (see {@linkcode MatmulKernel.vec4}),
 * else `array<f32>`; either way the caller binds the plain f32 data. An
 * operand given a packed {@linkcode WeightFormat} (f16 or u8) is bound
 * packed as `array<u32>` and read through its dequantising accessor.
 * @module
 */
import {
  F32_WEIGHTS,
  formatSuffix,
  isPacked,
  weightAt,
  weightDecl,
  type WeightFormat,
} from "./weights.ts";
import type { Kernel } from "./wgsl.ts";

export type { Kernel };

/** The storage of each operand (default f32); a packed one is a frozen weight bound as `array<u32>`. */
export interface MatmulWeights {
  /** Format of `a`. */
  readonly a?: WeightFormat;
  /** Format of `b`. */
  readonly b?: WeightFormat;
}

/** Sizes and transposes of one matmul: `[m,k] · [k,n]`. */
export interface MatmulGeometry {
  /** Rows of the output. */
  readonly m: number;
  /** Inner dimension. */
  readonly k: number;
  /** Columns of the output. */
  readonly n: number;
  /** `a` is stored `[k,m]`. */
  readonly transA: boolean;
  /** `b` is stored `[n,k]`. */
  readonly transB: boolean;
}

/** Register tile and workgroup shape of a blocked matmul. */
export interface MatmulTiling {
  /** Rows of `c` per invocation. */
  readonly tm: number;
  /** Columns of `c` per invocation. */
  readonly tn: number;
  /** Workgroup size along columns (x); `wx · wy` invocations per workgroup. */
  readonly wx: number;
  /** Workgroup size along rows (y). */
  readonly wy: number;
}

/** A generated matmul kernel and how it reads its bindings. */
export interface MatmulKernel extends Kernel {
  /** Which bindings (`a`, `b`, `c`) are declared `array<vec4<f32>>`. */
  readonly vec4: { readonly a: boolean; readonly b: boolean; readonly c: boolean };
  /** The tiling used. */
  readonly tiling: MatmulTiling;
}

/** How one operand is fetched per step of `k`. */
type Fetch = "kvec" | "tilevec" | "scalar";

/**
 * The default tiling for a shape: the largest register tile that still
 * leaves enough invocations to keep every CPU core's SIMD lanes busy.
 */
export function matmulTiling(g: MatmulGeometry): MatmulTiling {
  const tiles: readonly [number, number][] = [[32, 8], [16, 16], [16, 8], [8, 8], [8, 4], [4, 4]];
  for (const [tm, tn] of tiles) {
    if (Math.ceil(g.m / tm) * Math.ceil(g.n / tn) >= 256) return { tm, tn, wx: 8, wy: 8 };
  }
  return { tm: 4, tn: 4, wx: 8, wy: 1 };
}

/**
 * WGSL for `c[m,n] = Σ_k op(a)[m,k] · op(b)[k,n]`, where `a` is stored
 * `[m,k]` (or `[k,m]` when `transA`) and `b` is stored `[k,n]` (or `[n,k]`
 * when `transB`). Any sizes ≥ 1; `vec4` loads are used where a stored row
 * length is a multiple of 4.
 */
export function matmul(
  g: MatmulGeometry,
  tiling: MatmulTiling = matmulTiling(g),
  weights: MatmulWeights = {},
): MatmulKernel {
  const { m, k, n, transA, transB } = g;
  const wa = weights.a ?? F32_WEIGHTS, wb = weights.b ?? F32_WEIGHTS;
  const { tm, tn, wx, wy } = tiling;
  if (tm % 4 !== 0 || tn % 4 !== 0) {
    throw new RangeError(`matmul tile ${tm}×${tn}: not multiples of 4`);
  }
  // a: [m,k] rows are contiguous along k; [k,m] rows are contiguous along the tile's rows.
  // A packed (f16/u8) operand is loaded one element at a time through its accessor.
  const fa: Fetch = isPacked(wa)
    ? "scalar"
    : !transA
    ? (k % 4 === 0 ? "kvec" : "scalar")
    : (m % 4 === 0 ? "tilevec" : "scalar");
  const fb: Fetch = isPacked(wb)
    ? "scalar"
    : transB
    ? (k % 4 === 0 ? "kvec" : "scalar")
    : (n % 4 === 0 ? "tilevec" : "scalar");
  const unroll = fa === "kvec" || fb === "kvec" ? 4 : 1;
  const vc = n % 4 === 0;
  const groups: [number, number, number] = [
    Math.ceil(Math.ceil(n / tn) / wx),
    Math.ceil(Math.ceil(m / tm) / wy),
    1,
  ];
  if (groups[0] > 65535 || groups[1] > 65535) {
    throw new RangeError(`matmul ${m}×${n}: grid too large`);
  }

  const L: string[] = [];
  const decl = (i: number, name: string, v: boolean) =>
    L.push(
      `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${
        v ? "vec4<f32>" : "f32"
      }>;`,
    );
  L.push(weightDecl(0, "a", wa, fa !== "scalar"));
  L.push(weightDecl(1, "b", wb, fb !== "scalar"));
  decl(2, "c", vc);
  L.push(`@compute @workgroup_size(${wx}, ${wy})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>) {`);
  L.push(`  let r0 = gid.y * ${tm}u;`);
  L.push(`  let c0 = gid.x * ${tn}u;`);

  // Per-operand setup (clamped base indices so every load stays in bounds) and loads.
  // av(i,u) / bv(j,u): expressions for op(a)[r0+i, k+u] and op(b)[k+u, c0+j].
  const setupA = operandSetup("a", fa, transA ? m : k, tm, "r0", m, transA, wa);
  const setupB = operandSetup("b", fb, transB ? k : n, tn, "c0", n, !transB, wb);
  L.push(...setupA.setup, ...setupB.setup);
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++) L.push(`  var acc${i}_${j} = 0.0f;`);
  }
  L.push(`  for (var kk = 0u; kk < ${Math.floor(k / unroll) * unroll}u; kk = kk + ${unroll}u) {`);
  L.push(...setupA.load(unroll), ...setupB.load(unroll));
  for (let u = 0; u < unroll; u++) {
    for (let i = 0; i < tm; i++) {
      for (let j = 0; j < tn; j++) {
        L.push(`    acc${i}_${j} = fma(${setupA.at(i, u)}, ${setupB.at(j, u)}, acc${i}_${j});`);
      }
    }
  }
  L.push(`  }`);

  // Stores, guarded at the edges.
  for (let i = 0; i < tm; i++) {
    const rowOk = groups[1] * wy * tm === m ? "" : `r0 + ${i}u < ${m}u`;
    for (let j = 0; j < tn; j += vc ? 4 : 1) {
      const colOk = groups[0] * wx * tn === n ? "" : `c0 + ${j}u < ${n}u`;
      const cond = [rowOk, colOk].filter((s) => s !== "").join(" && ");
      const st = vc
        ? `c[((r0 + ${i}u) * ${n}u + c0 + ${j}u) / 4u] = vec4<f32>(acc${i}_${j}, acc${i}_${
          j + 1
        }, acc${i}_${j + 2}, acc${i}_${j + 3});`
        : `c[(r0 + ${i}u) * ${n}u + c0 + ${j}u] = acc${i}_${j};`;
      L.push(cond === "" ? `  ${st}` : `  if (${cond}) { ${st} }`);
    }
  }
  L.push(`}`);
  return {
    name: `matmul_${tm}x${tn}${formatSuffix(wa)}${formatSuffix(wb)}`,
    code: L.join("\n") + "\n",
    dispatch: groups,
    vec4: { a: fa !== "scalar", b: fb !== "scalar", c: vc },
    tiling,
  };
}

/**
 * Setup and load code for one operand seen as `t` tile lines (rows of op(a)
 * or columns of op(b)) starting at `base`, with `lines` lines in all.
 * `lineMajor`: the stored matrix is `[lines, k]` (each line contiguous along
 * k, `stride` = k); otherwise it is `[k, lines]` (`stride` = lines).
 */
function operandSetup(
  name: string,
  fetch: Fetch,
  stride: number,
  t: number,
  base: string,
  lines: number,
  kMajor: boolean,
  format: WeightFormat,
): { setup: string[]; load: (unroll: number) => string[]; at: (i: number, u: number) => string } {
  // kMajor: stored [k, lines] (the tile is contiguous); otherwise stored [lines, k].
  const setup: string[] = [];
  const last = lines - 1;
  if (fetch === "tilevec") {
    // stored [k, lines], lines % 4 == 0: vec4 q covers tile lines 4q..4q+3.
    for (let q = 0; q < t / 4; q++) {
      setup.push(`  let ${name}o${q} = min(${base} + ${4 * q}u, ${lines - 4}u) / 4u;`);
    }
    return {
      setup,
      load: (unroll) => {
        const out: string[] = [];
        for (let u = 0; u < unroll; u++) {
          for (let q = 0; q < t / 4; q++) {
            out.push(
              `    let ${name}${q}_${u} = ${name}[(kk + ${u}u) * ${stride / 4}u + ${name}o${q}];`,
            );
          }
        }
        return out;
      },
      at: (i, u) => `${name}${i >> 2}_${u}[${i & 3}]`,
    };
  }
  for (let i = 0; i < t; i++) setup.push(`  let ${name}l${i} = min(${base} + ${i}u, ${last}u);`);
  if (fetch === "kvec") {
    // stored [lines, k], k % 4 == 0: one vec4 per line covers 4 steps of k.
    for (let i = 0; i < t; i++) setup.push(`  let ${name}o${i} = ${name}l${i} * ${stride / 4}u;`);
    return {
      setup,
      load: () => {
        const out: string[] = [];
        for (let i = 0; i < t; i++) {
          out.push(`    let ${name}${i} = ${name}[${name}o${i} + kk / 4u];`);
        }
        return out;
      },
      at: (i, u) => `${name}${i}[${u}]`,
    };
  }
  // scalar: either layout, one f32 per (line, k).
  return {
    setup,
    load: (unroll) => {
      const out: string[] = [];
      for (let u = 0; u < unroll; u++) {
        for (let i = 0; i < t; i++) {
          const idx = kMajor
            ? `(kk + ${u}u) * ${stride}u + ${name}l${i}`
            : `${name}l${i} * ${stride}u + kk + ${u}u`;
          out.push(`    let ${name}${i}_${u} = ${weightAt(name, format, idx)};`);
        }
      }
      return out;
    },
    at: (i, u) => `${name}${i}_${u}`,
  };
}
