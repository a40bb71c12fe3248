/**
 * WGSL for `binarize`: 1 where `x > threshold`, 0 elsewhere.
 * @module
 */
import { bindings, f32, type Kernel, perIndex } from "./wgsl.ts";

/** The f32 below `r` (towards −∞), for finite `r`. */
function f32Below(r: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, r);
  const bits = view.getUint32(0);
  if (r === 0) return -Math.pow(2, -149);
  view.setUint32(0, r > 0 ? bits - 1 : bits + 1);
  return view.getFloat32(0);
}

/**
 * The f32 threshold `t'` with `v > t'` ⇔ `v > t` for every f32 `v`, where the
 * CPU compares against the float64 `t`.
 */
export function f32Threshold(t: number): number {
  const r = Math.fround(t);
  return r > t ? f32Below(r) : r;
}

/** `y = x > threshold ? 1 : 0` over `count` elements (exactly the CPU's comparison). */
export function binarize(count: number, threshold: number): Kernel {
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `  y[i] = select(0.0f, 1.0f, x[i] > ${f32(f32Threshold(threshold))});`;
  return perIndex("binarize", decls, count, body);
}
