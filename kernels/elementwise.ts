/**
 * WGSL for element-wise ops: relu and relu6, their packed masks and gradient, sigmoid and
 * its gradient, scale, fill, and the copy behind reshape. Bindings follow
 * `wgsl.ts`: inputs, then the output.
 * @module
 */
import { bindings, f32, type Kernel, perIndex, u32 } from "./wgsl.ts";

function unary(name: string, count: number, expr: string): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  return perIndex(name, decls, count, `  let v = x[i];\n  y[i] = ${expr};`);
}

/** `y = max(x, 0)` over `count` elements (NaN and −0 give 0, as on the CPU); `vec4`s when `count % 4 == 0`. */
export function relu(count: number): Kernel {
  if (count % 4 !== 0) return unary("relu", count, "select(0.0f, v, v > 0.0f)");
  const decls = bindings([["x", "vec4<f32>"], ["y", "vec4<f32>"]]);
  const body = "  let v = x[i];\n  y[i] = select(vec4<f32>(0.0f), v, v > vec4<f32>(0.0f));";
  return perIndex("relu", decls, count / 4, body);
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
 * A packed mask: bit `i % 32` of word `i >> 5` set where `cond` holds. One
 * thread per word, so no atomics are needed; bits past `count` stay 0.
 * `cond(v, zero)` spells the test for a `f32` or a `vec4<f32>` `v`.
 */
function packedMask(
  name: string,
  count: number,
  cond: (v: string, splat: (c: number) => string) => string,
): Kernel {
  const words = Math.ceil(count / 32);
  if (count % 32 === 0) {
    const decls = bindings([["y", "vec4<f32>"], ["mask", "u32"]]);
    // Quad q of the word holds bits 4q..4q+3; the bits are disjoint, so their sum is their union.
    const quads = Array.from({ length: 8 }, (_, q) => {
      const bits = [1, 2, 4, 8].map((b) => `${(b << (4 * q)) >>> 0}u`).join(", ");
      const test = cond(`y[i * 8u + ${q}u]`, (c) => `vec4<f32>(${f32(c)})`);
      const set = `select(vec4<u32>(0u), vec4<u32>(${bits}), ${test})`;
      return `  m = m | dot(${set}, vec4<u32>(1u));`;
    });
    return perIndex(name, decls, words, `  var m = 0u;\n${quads.join("\n")}\n  mask[i] = m;`);
  }
  const decls = bindings([["y", "f32"], ["mask", "u32"]]);
  const body = `  var m = 0u;
  let base = i * 32u;
  for (var b = 0u; b < 32u; b = b + 1u) {
    let k = base + b;
    if (k < ${u32(count)}) { if (${cond("y[k]", f32)}) { m = m | (1u << b); } }
  }
  mask[i] = m;`;
  return perIndex(name, decls, words, body);
}

/** The packed mask `y > 0` of a ReLU output. */
export function reluMask(count: number): Kernel {
  return packedMask("reluMask", count, (v, c) => `${v} > ${c(0)}`);
}

/** The packed mask `0 < y < 6` of a ReLU6 output. */
export function relu6Mask(count: number): Kernel {
  return packedMask("relu6Mask", count, (v, c) => `(${v} > ${c(0)}) & (${v} < ${c(6)})`);
}

/** `y = min(max(x, 0), 6)` (NaN gives 0, as on the CPU); `vec4`s when `count % 4 == 0`. */
export function relu6(count: number): Kernel {
  if (count % 4 !== 0) {
    return unary("relu6", count, "select(0.0f, select(6.0f, v, v < 6.0f), v > 0.0f)");
  }
  const decls = bindings([["x", "vec4<f32>"], ["y", "vec4<f32>"]]);
  const z = "vec4<f32>(0.0f)", six = "vec4<f32>(6.0f)";
  const body = `  let v = x[i];\n  y[i] = select(${z}, select(${six}, v, v < ${six}), v > ${z});`;
  return perIndex("relu6", decls, count / 4, body);
}

/** `dx = dy` where the mask bit is set, 0 elsewhere. */
export function reluGrad(count: number): Kernel {
  if (count % 4 === 0) {
    const decls = bindings([["dy", "vec4<f32>"], ["mask", "u32"], ["dx", "vec4<f32>"]]);
    const body =
      `  let bits = vec4<u32>(mask[i >> 3u] >> ((i & 7u) * 4u)) & vec4<u32>(1u, 2u, 4u, 8u);
  dx[i] = select(vec4<f32>(0.0f), dy[i], bits != vec4<u32>(0u));`;
    return perIndex("reluGrad", decls, count / 4, body);
  }
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
