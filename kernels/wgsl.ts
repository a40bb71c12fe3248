/**
 * Shared pieces of da3's WGSL generators: the kernel record every generator
 * returns, the binding convention, literals, and index/reduction snippets.
 *
 * Binding convention: binding `i` is the op's input `i`, the next binding is
 * the output, and the one after it (when a lowering asks for scratch) is a
 * scratch buffer. Every binding is declared `read_write` so that values can
 * share one arena buffer (WebGPU forbids mixing read-only and writable
 * storage usages of one buffer in a dispatch); a binding's byte offset
 * places the value, so kernels always index from element 0.
 * @module
 */

/** One compute dispatch: WGSL with entry point `main` and its workgroup grid. */
export interface Kernel {
  /** A short name for error messages and profiles (e.g. `relu`). */
  readonly name: string;
  /** The WGSL module; shapes and attributes are baked in as constants. */
  readonly code: string;
  /** Workgroups to dispatch along x, y, z. */
  readonly dispatch: readonly [number, number, number];
}

/** What one op compiles to: dispatches run in order, and scratch bytes they share. */
export interface Lowering {
  /** Dispatches, in order. */
  readonly kernels: readonly Kernel[];
  /** Bytes of scratch the dispatches need (0 when none). */
  readonly scratchBytes: number;
}

/** The WGSL element type of a binding. */
export type WgslElement = "f32" | "i32" | "u32" | "vec4<f32>";

/** Largest workgroup count along one dispatch dimension (WebGPU's default limit). */
export const MAX_GROUPS_PER_DIM = 65535;

/** Threads per workgroup of one-element-per-thread kernels. */
export const WG = 64;

/** A WGSL f32 expression for a JS number (handles ±Infinity and NaN). */
export function f32(v: number): string {
  const r = Math.fround(v);
  if (Number.isNaN(r)) return "bitcast<f32>(0x7fc00000u)";
  if (r === Infinity) return "bitcast<f32>(0x7f800000u)";
  if (r === -Infinity) return "bitcast<f32>(0xff800000u)";
  if (Object.is(r, -0)) return "-0.0f";
  return `f32(${String(r)})`;
}

/** A WGSL `u32` literal. */
export function u32(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a u32: ${v}`);
  return `${v}u`;
}

/** Declarations of storage bindings `0..n-1` with the given names and element types. */
export function bindings(decls: readonly (readonly [string, WgslElement])[]): string {
  return decls
    .map(([name, t], i) =>
      `@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${t}>;`
    )
    .join("\n");
}

/** A 2-D grid of `groups` workgroups that stays within the per-dimension limit. */
export function grid(groups: number): [number, number, number] {
  const g = Math.max(1, groups);
  if (g <= MAX_GROUPS_PER_DIM) return [g, 1, 1];
  const y = Math.ceil(g / MAX_GROUPS_PER_DIM);
  if (y > MAX_GROUPS_PER_DIM) throw new RangeError(`too many workgroups: ${groups}`);
  return [MAX_GROUPS_PER_DIM, y, 1];
}

/**
 * A kernel that runs `body` once per index `i < count`, `WG` threads per
 * workgroup; `body` sees `i: u32`. `decls` are the module-scope declarations.
 */
export function perIndex(name: string, decls: string, count: number, body: string): Kernel {
  const dispatch = grid(Math.ceil(count / WG));
  const code = `${decls}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${u32(dispatch[0] * WG)};
  if (i >= ${u32(count)}) { return; }
${body}
}
`;
  return { name, code, dispatch };
}

/**
 * WGSL statements that split the flat index `v` of a row-major `shape` into
 * per-axis coordinates `${prefix}0 .. ${prefix}{rank-1}` (u32).
 */
export function unravel(v: string, shape: readonly number[], prefix: string): string {
  if (shape.length === 0) return "";
  const lines = [`var ${prefix}_r = ${v};`];
  for (let a = shape.length - 1; a >= 0; a--) {
    if (a === 0) lines.push(`let ${prefix}${a} = ${prefix}_r;`);
    else {
      lines.push(`let ${prefix}${a} = ${prefix}_r % ${u32(shape[a])};`);
      lines.push(`${prefix}_r = ${prefix}_r / ${u32(shape[a])};`);
    }
  }
  return lines.join("\n");
}

/** Row-major element strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) s[a] = s[a + 1] * shape[a + 1];
  return s;
}

/** The smallest power of two ≥ `n`, capped at `cap`. */
export function pow2AtMost(n: number, cap: number): number {
  let p = 1;
  while (p < n && p < cap) p *= 2;
  return p;
}

/**
 * Module-scope WGSL for a workgroup tree sum over `size` threads (a power of
 * two): `fn wgSum(v: f32, lid: u32) -> f32` returns the sum of `v` over the
 * workgroup to every thread. Call it from uniform control flow only.
 */
export function workgroupSum(size: number): string {
  return `var<workgroup> red: array<f32, ${size}>;
fn wgSum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${u32(Math.floor(size / 2))}; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}`;
}

/**
 * A kernel with one workgroup per segment `seg < segments`; each of its
 * `size` threads (`lid`) walks `j = lid, lid + size, ... < length`. `body`
 * is the function body after `seg`, `lid`, `size` are defined; it uses
 * `wgSum` for reductions and writes its results.
 */
export function perSegment(
  name: string,
  decls: string,
  segments: number,
  length: number,
  body: string,
): Kernel {
  const size = pow2AtMost(length, 64);
  const dispatch = grid(segments);
  const code = `${decls}
${workgroupSum(size)}
const SIZE = ${u32(size)};
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let seg = wid.x + wid.y * ${u32(dispatch[0])};
  if (seg >= ${u32(segments)}) { return; }
${body}
}
`;
  return { name, code, dispatch };
}

/** The flat invocation index `t` over a grid of `count` invocations and the kernel frame. */
export function frame(
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
