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

function binary(name: string, op: string, a: Shape, b: Shape, out: Shape): Kernel {
  const decls = bindings([["a", "f32"], ["b", "f32"], ["y", "f32"]]);
  const count = numel(out);
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
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const v = `x[${sourceIndex(from, out, "c")}]`;
  const body = `${unravel("i", out, "c")}
  y[i] = ${s === 1 ? v : `${v} * ${f32(s)}`};`;
  return perIndex("broadcastTo", decls, numel(out), body);
}

/**
 * Sums `x` of shape `from` over its broadcast axes down to `to`: one
 * workgroup per output element, its threads splitting the summed terms.
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
