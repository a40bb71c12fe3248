/**
 * WGSL for 2-D pooling over `[N,C,H,W]`: average (padding counted as zeros)
 * and max (padding never wins), their gradients, and the u8 window index of
 * each maximum, packed four per `u32` (byte `i % 4` of word `i >> 2`, little
 * endian) so that the host bytes equal the CPU runtime's `Uint8Array`.
 * Gradients gather (one thread per input element), so no atomics are needed.
 * @module
 */
import { bindings, f32, type Kernel, perIndex, u32, unravel } from "./wgsl.ts";

/** Shapes and window of one pooling op. */
export interface PoolGeometry {
  /** Input `[N,C,H,W]`. */
  readonly x: readonly number[];
  /** Output `[N,C,Ho,Wo]`. */
  readonly y: readonly number[];
  /** `[kh, kw]`. */
  readonly kernel: readonly [number, number];
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** `[ph, pw]`. */
  readonly padding: readonly [number, number];
}

/** WGSL that walks the in-bounds taps of output `o` (defines `xi`, `tap`, runs `inner`). */
function forEachTap(g: PoolGeometry, o: string, inner: string): string {
  const [, , h, w] = g.x;
  const [, , ho, wo] = g.y;
  const [kh, kw] = g.kernel;
  return `  let ow = ${o} % ${u32(wo)};
  let oh = (${o} / ${u32(wo)}) % ${u32(ho)};
  let plane = ${o} / ${u32(ho * wo)};
  for (var ki = 0; ki < ${kh}; ki = ki + 1) {
    let ih = i32(oh) * ${g.stride[0]} - ${g.padding[0]} + ki;
    if (ih < 0 || ih >= ${h}) { continue; }
    for (var kj = 0; kj < ${kw}; kj = kj + 1) {
      let iw = i32(ow) * ${g.stride[1]} - ${g.padding[1]} + kj;
      if (iw < 0 || iw >= ${w}) { continue; }
      let xi = (plane * ${u32(h)} + u32(ih)) * ${u32(w)} + u32(iw);
      let tap = u32(ki * ${kw} + kj);
${inner}
    }
  }`;
}

/**
 * WGSL that walks, for input element `i`, every output whose window covers
 * it (defines `o`, `tap`, runs `inner`).
 */
function forEachCoveringOutput(g: PoolGeometry, inner: string): string {
  const [, , h, w] = g.x;
  const [, , ho, wo] = g.y;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  return `${unravel("i", [g.x[0] * g.x[1], h, w], "c")}
  for (var ki = 0; ki < ${kh}; ki = ki + 1) {
    let th = i32(c1) + ${g.padding[0]} - ki;
    if (th < 0 || th % ${sh} != 0 || th / ${sh} >= ${ho}) { continue; }
    for (var kj = 0; kj < ${kw}; kj = kj + 1) {
      let tw = i32(c2) + ${g.padding[1]} - kj;
      if (tw < 0 || tw % ${sw} != 0 || tw / ${sw} >= ${wo}) { continue; }
      let o = (c0 * ${u32(ho)} + u32(th / ${sh})) * ${u32(wo)} + u32(tw / ${sw});
      let tap = u32(ki * ${kw} + kj);
${inner}
    }
  }`;
}

function outCount(g: PoolGeometry): number {
  return g.y.reduce((a, b) => a * b, 1);
}

function inCount(g: PoolGeometry): number {
  return g.x.reduce((a, b) => a * b, 1);
}

function windowSize(g: PoolGeometry): number {
  return g.kernel[0] * g.kernel[1];
}

/** Mean over each window, padding counted as zeros. */
export function avgPool2d(g: PoolGeometry): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `  var acc = 0.0f;
${forEachTap(g, "i", `      acc = acc + x[xi] / ${f32(windowSize(g))};`)}
  y[i] = acc;`;
  return perIndex("avgPool2d", decls, outCount(g), body);
}

/** Spreads each output gradient evenly over its window. */
export function avgPool2dGrad(g: PoolGeometry): Kernel {
  const decls = bindings([["dy", "f32"], ["dx", "f32"]]);
  const body = `  var acc = 0.0f;
${forEachCoveringOutput(g, `      acc = acc + dy[o] / ${f32(windowSize(g))};`)}
  dx[i] = acc;`;
  return perIndex("avgPool2dGrad", decls, inCount(g), body);
}

/** WGSL computing `best` and `arg` (the tap of the first maximum) of output `o`. */
function argmax(g: PoolGeometry, o: string): string {
  return `  var best = bitcast<f32>(0xff800000u);
  var arg = 0u;
${forEachTap(g, o, "      let v = x[xi];\n      if (v > best) { best = v; arg = tap; }")}`;
}

/** Maximum over each window. */
export function maxPool2d(g: PoolGeometry): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  return perIndex("maxPool2d", decls, outCount(g), `${argmax(g, "i")}\n  y[i] = best;`);
}

/** The window position of each maximum as a byte, four per `u32` word. */
export function maxPool2dIndices(g: PoolGeometry): Kernel {
  const count = outCount(g);
  const decls = bindings([["x", "f32"], ["taps", "u32"]]);
  const one = (b: number) =>
    `  {
    let o = i * 4u + ${b}u;
    if (o < ${u32(count)}) {
    ${argmax(g, "o").replaceAll("\n", "\n  ")}
      word = word | (arg << ${8 * b}u);
    }
  }`;
  const body = `  var word = 0u;
${[0, 1, 2, 3].map(one).join("\n")}
  taps[i] = word;`;
  return perIndex("maxPool2dIndices", decls, Math.ceil(count / 4), body);
}

/** Routes each output gradient to its window's maximum (u8 taps packed in `u32`). */
export function maxPool2dGrad(g: PoolGeometry): Kernel {
  const decls = bindings([["dy", "f32"], ["taps", "u32"], ["dx", "f32"]]);
  const inner = `      let t = (taps[o >> 2u] >> (8u * (o & 3u))) & 255u;
      if (t == tap) { acc = acc + dy[o]; }`;
  const body = `  var acc = 0.0f;
${forEachCoveringOutput(g, inner)}
  dx[i] = acc;`;
  return perIndex("maxPool2dGrad", decls, inCount(g), body);
}
