/**
 * WGSL for element-wise ops: relu, its packed mask and gradient, sigmoid and
 * its gradient, scale, fill, and the copy behind reshape. Bindings follow
 * `wgsl.ts`: inputs, then the output.
 * @module
 */
import { bindings, f32, type Kernel, perIndex, u32 } from "./wgsl.ts";

function unary(name: string, count: number, expr: string): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  return perIndex(name, decls, count, `  let v = x[i];\n  y[i] = ${expr};`);
}

/** `y = max(x, 0)` over `count` elements (NaN and −0 give 0, as on the CPU). */
export function relu(count: number): Kernel {
  return unary("relu", count, "select(0.0f, v, v > 0.0f)");
}

/** `y = 1 / (1 + e^−x)`. */
export function sigmoid(count: number): Kernel {
  return unary("sigmoid", count, "1.0f / (1.0f + exp(-v))");
}

/** `y = x · s`. */
export function scale(count: number, s: number): Kernel {
  return unary("scale", count, `v * ${f32(s)}`);
}

/** `y = x`: the copy a reshape makes. */
export function copy(count: number): Kernel {
  return unary("reshape", count, "v");
}

/** `y = value` everywhere (no inputs: binding 0 is the output). */
export function fill(count: number, value: number): Kernel {
  return perIndex("fill", bindings([["y", "f32"]]), count, `  y[i] = ${f32(value)};`);
}

/**
 * The packed mask `y > 0`: bit `i % 32` of word `i >> 5`. One thread per
 * word, so no atomics are needed; bits past `count` stay 0.
 */
export function reluMask(count: number): Kernel {
  const words = Math.ceil(count / 32);
  const decls = bindings([["y", "f32"], ["mask", "u32"]]);
  const body = `  var m = 0u;
  let base = i * 32u;
  for (var b = 0u; b < 32u; b = b + 1u) {
    let k = base + b;
    if (k < ${u32(count)} && y[k] > 0.0f) { m = m | (1u << b); }
  }
  mask[i] = m;`;
  return perIndex("reluMask", decls, words, body);
}

/** `dx = dy` where the mask bit is set, 0 elsewhere. */
export function reluGrad(count: number): Kernel {
  const decls = bindings([["dy", "f32"], ["mask", "u32"], ["dx", "f32"]]);
  const body = `  let bit = (mask[i >> 5u] >> (i & 31u)) & 1u;
  dx[i] = select(0.0f, dy[i], bit == 1u);`;
  return perIndex("reluGrad", decls, count, body);
}

/** `dx = dy · y · (1 − y)` from the sigmoid's output `y`. */
export function sigmoidGrad(count: number): Kernel {
  const decls = bindings([["dy", "f32"], ["y", "f32"], ["dx", "f32"]]);
  return perIndex(
    "sigmoidGrad",
    decls,
    count,
    "  let v = y[i];\n  dx[i] = dy[i] * v * (1.0f - v);",
  );
}
