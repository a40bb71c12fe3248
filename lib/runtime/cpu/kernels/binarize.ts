/**
 * Mask binarization on the CPU.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

/** 1 where `x > threshold`, 0 elsewhere. */
export const binarize: CpuKernel = (n, [x]) => {
  const t = n.attrs.threshold as number;
  return f32(x).map((v) => (v > t ? 1 : 0));
};
