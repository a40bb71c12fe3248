/**
 * Mask binarization on the CPU.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

/** 1 where `x > threshold`, 0 elsewhere. */
export const binarize: CpuKernel = (n, [xa], out) => {
  const t = n.attrs.threshold as number, x = f32(xa), y = f32(out);
  for (let i = 0; i < x.length; i++) y[i] = x[i] > t ? 1 : 0;
};
