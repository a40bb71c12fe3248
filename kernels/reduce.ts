/**
 * WGSL for means and resampling: global average pool, channel mean, the
 * mean of all elements, nearest upsampling and its gradient.
 * @module
 */
import { rowSums } from "./broadcast.ts";
import { bindings, f32, type Kernel, perIndex, perSegment, u32, unravel } from "./wgsl.ts";

/**
 * `[N,C,H,W]` → `[N,C]`: one invocation per (n, c) plane reading `vec4`s when
 * `H·W` is a multiple of 4 and there are enough planes, else one workgroup per plane.
 */
export function globalAvgPool(x: readonly number[]): Kernel {
  const [n, c, h, w] = x;
  const s = h * w;
  if (s % 4 === 0 && n * c >= 64) return rowSums("globalAvgPool", n * c, s, s);
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `  var acc = 0.0f;
  for (var j = lid; j < ${u32(s)}; j = j + SIZE) { acc = acc + x[seg * ${u32(s)} + j]; }
  let total = wgSum(acc, lid);
  if (lid == 0u) { y[seg] = total / ${f32(s)}; }`;
  return perSegment("globalAvgPool", decls, n * c, s, body);
}

/** `[N,C,H,W]` → `[N,1,H,W]`: the channel mean, accumulated like the CPU (`+= x / C`). */
export function channelMean(x: readonly number[]): Kernel {
  const [n, c, h, w] = x;
  const s = h * w;
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `  let b = i / ${u32(s)};
  let k = i % ${u32(s)};
  var acc = 0.0f;
  for (var ch = 0u; ch < ${u32(c)}; ch = ch + 1u) {
    acc = acc + x[(b * ${u32(c)} + ch) * ${u32(s)} + k] / ${f32(c)};
  }
  y[i] = acc;`;
  return perIndex("channelMean", decls, n * s, body);
}

/** The mean of all `count` elements, by one workgroup. */
export function mean(count: number): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `  var acc = 0.0f;
  for (var j = lid; j < ${u32(count)}; j = j + SIZE) { acc = acc + x[j]; }
  let total = wgSum(acc, lid);
  if (lid == 0u) { y[0] = total / ${f32(count)}; }`;
  return perSegment("mean", decls, 1, count, body);
}

/** `[N,C,H,W]` → `[N,C,H·f,W·f]`, each value repeated in an f×f block. */
export function upsampleNearest(x: readonly number[], factor: number): Kernel {
  const [n, c, h, w] = x;
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `${unravel("i", [n * c, h * factor, w * factor], "c")}
  y[i] = x[(c0 * ${u32(h)} + c1 / ${u32(factor)}) * ${u32(w)} + c2 / ${u32(factor)}];`;
  return perIndex("upsampleNearest", decls, n * c * h * factor * w * factor, body);
}

/** The gradient of upsampling: each element sums its f×f block (`x` is the small shape). */
export function upsampleNearestGrad(x: readonly number[], factor: number): Kernel {
  const [n, c, h, w] = x;
  const wl = w * factor;
  const decls = bindings([["dy", "f32"], ["dx", "f32"]]);
  const body = `${unravel("i", [n * c, h, w], "c")}
  let base = (c0 * ${u32(h * factor)} + c1 * ${u32(factor)}) * ${u32(wl)} + c2 * ${u32(factor)};
  var acc = 0.0f;
  for (var a = 0u; a < ${u32(factor)}; a = a + 1u) {
    for (var b = 0u; b < ${u32(factor)}; b = b + 1u) { acc = acc + dy[base + a * ${u32(wl)} + b]; }
  }
  dx[i] = acc;`;
  return perIndex("upsampleNearestGrad", decls, n * c * h * w, body);
}
