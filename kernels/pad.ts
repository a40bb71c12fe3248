/**
 * WGSL for spatial zero padding of `[N,C,H,W]` values and its crop: one
 * invocation per output element.
 * @module
 */
import type { Pads } from "../lib/graph/mod.ts";
import { bindings, type Kernel, perIndex, u32, unravel } from "./wgsl.ts";

/** `x` `[N,C,H,W]` → `[N,C,H+t+b,W+l+r]` with a zero border. */
export function zeroPad2d(x: readonly number[], pads: Pads): Kernel {
  const [n, c, h, w] = x;
  const [t, b, l, r] = pads;
  const ho = h + t + b, wo = w + l + r;
  const decls = bindings([["x", "f32"], ["y", "f32"]]);
  const body = `${unravel("i", [n * c, ho, wo], "c")}
  let yy = i32(c1) - ${t}i;
  let xx = i32(c2) - ${l}i;
  var v = 0.0f;
  if (yy >= 0i && yy < ${h}i && xx >= 0i && xx < ${w}i) {
    v = x[(c0 * ${u32(h)} + u32(yy)) * ${u32(w)} + u32(xx)];
  }
  y[i] = v;`;
  return perIndex("zeroPad2d", decls, n * c * ho * wo, body);
}

/** `dy` `[N,C,H+t+b,W+l+r]` → its `[N,C,H,W]` interior (`x` is the small shape). */
export function crop2d(x: readonly number[], pads: Pads): Kernel {
  const [n, c, h, w] = x;
  const [t, b, l, r] = pads;
  const ho = h + t + b, wo = w + l + r;
  const decls = bindings([["dy", "f32"], ["dx", "f32"]]);
  const body = `${unravel("i", [n * c, h, w], "c")}
  dx[i] = dy[(c0 * ${u32(ho)} + c1 + ${u32(t)}) * ${u32(wo)} + c2 + ${u32(l)}];`;
  return perIndex("crop2d", decls, n * c * h * w, body);
}
