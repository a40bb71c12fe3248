/**
 * A plain WGSL matrix product `op(a) · op(b)` (one thread per output
 * element), the correct-but-simple fallback the runtime uses where no
 * register-blocked kernel applies.
 * @module
 */
import { bindings, type Kernel, perIndex, u32 } from "./wgsl.ts";

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

/** `c[i,j] = Σ_r op(a)[i,r] · op(b)[r,j]`. */
export function matmulNaive({ m, k, n, transA, transB }: MatmulGeometry): Kernel {
  const decls = bindings([["a", "f32"], ["b", "f32"], ["c", "f32"]]);
  const aAt = transA ? `a[r * ${u32(m)} + row]` : `a[row * ${u32(k)} + r]`;
  const bAt = transB ? `b[col * ${u32(k)} + r]` : `b[r * ${u32(n)} + col]`;
  const body = `  let row = i / ${u32(n)};
  let col = i % ${u32(n)};
  var acc = 0.0f;
  for (var r = 0u; r < ${u32(k)}; r = r + 1u) { acc = acc + ${aAt} * ${bAt}; }
  c[i] = acc;`;
  return perIndex("matmul", decls, m * n, body);
}
