/**
 * Matrix product with optional transposes.
 * @module
 */
import { gemm, transpose } from "./gemm.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/** `op(a) · op(b)`: transposed operands are materialised, then one gemm. */
export const matmul: CpuKernel = (n, [aa, ba], out) => {
  const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
  const [sa, sb] = [n.inputs[0].shape, n.inputs[1].shape];
  const a = transA ? transpose(f32(aa), sa[0], sa[1]) : f32(aa);
  const b = transB ? transpose(f32(ba), sb[0], sb[1]) : f32(ba);
  const [m, p] = n.shape;
  const k = transA ? sa[0] : sa[1];
  gemm(m, p, k, a, 0, b, 0, f32(out).fill(0), 0);
};
