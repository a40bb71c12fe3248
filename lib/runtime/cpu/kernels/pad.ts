/**
 * Spatial zero padding and its crop on the CPU.
 * @module
 */
import type { Pads } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/** Copies plane rows of `small` `[P,h,w]` into `big` `[P,H,W]` at row `t`, column `l` (or back). */
function window(
  small: readonly number[],
  big: readonly number[],
  pads: Pads,
  visit: (s: number, b: number, w: number) => void,
): void {
  const [n, c, h, w] = small, [, , hb, wb] = big;
  const [t, , l] = pads;
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) visit((p * h + y) * w, (p * hb + y + t) * wb + l, w);
  }
}

/** `x` inside a zero border. */
export const zeroPad2d: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), y = f32(out).fill(0);
  window(n.inputs[0].shape, n.shape, n.attrs.pads as unknown as Pads, (s, b, w) => {
    y.set(x.subarray(s, s + w), b);
  });
};

/** The interior of the padded gradient `dy`. */
export const crop2d: CpuKernel = (n, [dya], out) => {
  const dy = f32(dya), dx = f32(out);
  window(n.shape, n.inputs[0].shape, n.attrs.pads as unknown as Pads, (s, b, w) => {
    dx.set(dy.subarray(b, b + w), s);
  });
};
