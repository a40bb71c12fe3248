/**
 * WGSL for broadcasting ops (NumPy rules, right-aligned): add, mul, sumTo
 * and broadcastTo. Shapes are baked in; index maps are unrolled per axis.
 * @module
 */
import { numel } from "../lib/graph/tensor.ts";
import {
  bindings,
  f32,
  type Kernel,
  perIndex,
  perSegment,
  stridesOf,
  u32,
  unravel,
} from "./wgsl.ts";

type Shape = readonly number[];

/**
 * A WGSL u32 expression for the flat index into a value of shape `from`
 * that broadcasts onto the output coordinates `${prefix}0..` of `out`.
 */
function sourceIndex(from: Shape, out: Shape, prefix: string): string {
  const strides = stridesOf(from);
  const terms: string[] = [];
  from.forEach((d, a) => {
    const axis = out.length - from.length + a;
    if (d !== 1) terms.push(`${prefix}${axis} * ${u32(strides[a])}`);
  });
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

function same(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * How an operand of shape `from` is read four output elements at a time
 * along the last axis of `out` (length a multiple of 4): as a `vec4` when it
 * spans that axis, as one splatted scalar when it is broadcast along it, or
 * `undefined` when neither holds.
 */
function quadRead(from: Shape, out: Shape): "vec4" | "splat" | undefined {
  const last = from.length === 0 ? 1 : from[from.length - 1];
  if (last === out[out.length - 1]) return "vec4";
  return last === 1 ? "splat" : undefined;
}

/** Whether `out` can be written a `vec4` at a time with operands `from` (see {@linkcode quadRead}). */
function quadsFit(out: Shape, from: readonly Shape[]): boolean {
  return out.length > 0 && out[out.length - 1] % 4 === 0 &&
    from.every((f) => quadRead(f, out) !== undefined);
}

/** The WGSL `vec4` expression reading operand `name` for output quad `c` (see {@linkcode quadRead}). */
function quadOperand(name: string, from: Shape, out: Shape): string {
  const index = sourceIndex(from, out, "c");
  return quadRead(from, out) === "vec4"
    ? `${name}[(${index}) / 4u]`
    : `vec4<f32>(${name}[${index}])`;
}

function binary(name: string, op: string, a: Shape, b: Shape, out: Shape): Kernel {
  const count = numel(out);
  if (quadsFit(out, [a, b])) {
    const quad = (f: Shape) => (quadRead(f, out) === "vec4" ? "vec4<f32>" : "f32");
    const decls = bindings([["a", quad(a)], ["b", quad(b)], ["y", "vec4<f32>"]]);
    if (same(a, out) && same(b, out)) {
      return perIndex(name, decls, count / 4, `  y[i] = a[i] ${op} b[i];`);
    }
    const body = `${unravel("i * 4u", out, "c")}
  y[i] = ${quadOperand("a", a, out)} ${op} ${quadOperand("b", b, out)};`;
    return perIndex(name, decls, count / 4, body);
  }
  const decls = bindings([["a", "f32"], ["b", "f32"], ["y", "f32"]]);
  if (same(a, out) && same(b, out)) {
    return perIndex(name, decls, count, `  y[i] = a[i] ${op} b[i];`);
  }
  const body = `${unravel("i", out, "c")}
  y[i] = a[${sourceIndex(a, out, "c")}] ${op} b[${sourceIndex(b, out, "c")}];`;
  return perIndex(name, decls, count, body);
}

/** `y = a + b` with broadcasting to `out`. */
export function add(a: Shape, b: Shape, out: Shape): Kernel {
  return binary("add", "+", a, b, out);
}

/** `y = a · b` with broadcasting to `out`. */
export function mul(a: Shape, b: Shape, out: Shape): Kernel {
  return binary("mul", "*", a, b, out);
}

/** `y = x[broadcast index] · s`, repeating `from` along broadcast axes of `out`. */
export function broadcastTo(from: Shape, out: Shape, s: number): Kernel {
  const scaled = (v: string) => (s === 1 ? v : `${v} * ${f32(s)}`);
  if (quadsFit(out, [from])) {
    const decls = bindings([
      ["x", quadRead(from, out) === "vec4" ? "vec4<f32>" : "f32"],
      ["y", "vec4<f32>"],
    ]);
    const body = `${unravel("i * 4u", out, "c")}
  y[i] = ${scaled(quadOperand("x", from, out))};`;
    return perIndex("broadcastTo", decls, numel(out) / 4, body);
  }
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `${unravel("i", out, "c")}
  y[i] = ${scaled(`x[${sourceIndex(from, out, "c")}]`)};`;
  return perIndex("broadcastTo", decls, numel(out), body);
}

/** Below this many outputs, a row sum splits each row over a workgroup instead. */
const MIN_ROWS_PER_INVOCATION = 64;

/**
 * `y[r] = Σ_j x[r·length + j] / d` for `rows` contiguous rows (`length` a
 * multiple of 4): one invocation per row reading `vec4`s, no workgroup
 * memory or barriers.
 */
export function rowSums(name: string, rows: number, length: number, d: number): Kernel {
  const decls = bindings([["x", "vec4<f32>"], ["y", "f32"]]);
  const q = u32(length / 4);
  const sum = "(acc.x + acc.y) + (acc.z + acc.w)";
  const body = `  var acc = vec4<f32>(0.0f);
  for (var j = 0u; j < ${q}; j = j + 1u) { acc = acc + x[i * ${q} + j]; }
  y[i] = ${d === 1 ? sum : `(${sum}) / ${f32(d)}`};`;
  return perIndex(name, decls, rows, body);
}

/**
 * Sums `x` of shape `from` over its broadcast axes down to `to`: one
 * workgroup per output element, its threads splitting the summed terms
 * (or {@linkcode rowSums} when the summed axes are the trailing ones).
 */
export function sumTo(from: Shape, to: Shape): Kernel {
  const rank = from.length;
  const aligned = from.map((_, a) => to[a - (rank - to.length)] ?? 1);
  const kept = aligned.map((d, a) => (d === from[a] ? a : -1)).filter((a) => a >= 0);
  const reduced = aligned.map((d, a) => (d === from[a] ? -1 : a)).filter((a) => a >= 0);
  const xs = stridesOf(from);
  const keptShape = kept.map((a) => from[a]);
  const redShape = reduced.map((a) => from[a]);
  const length = numel(redShape);
  const trailing = reduced.every((a, k) => a === rank - reduced.length + k);
  if (trailing && length % 4 === 0 && numel(to) >= MIN_ROWS_PER_INVOCATION) {
    return rowSums("sumTo", numel(to), length, 1);
  }
  const base = kept.map((a, k) => `k${k} * ${u32(xs[a])}`).join(" + ") || "0u";
  const off = reduced.map((a, k) => `r${k} * ${u32(xs[a])}`).join(" + ") || "0u";
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `${unravel("seg", keptShape, "k")}
  let base = ${base};
  var acc = 0.0f;
  for (var j = lid; j < ${u32(length)}; j = j + SIZE) {
${unravel("j", redShape, "r")}
    acc = acc + x[base + ${off}];
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { y[seg] = total; }`;
  return perSegment("sumTo", decls, numel(to), length, body);
}
