/**
 * Matrix product with optional transposes. A reduced-precision operand (a
 * frozen weight) is dequantised one block of its stored rows at a time.
 * @module
 */
import type { KernelInput } from "../../data.ts";
import { isQuantizedTensor } from "../../quantized.ts";
import { gemm, transpose } from "./gemm.ts";
import { type CpuKernel, f32 } from "./kernel.ts";
import { rowReader, WEIGHT_BLOCK_ROWS } from "./weight_rows.ts";

/** `op(a) · op(b)`: transposed operands are materialised, then one gemm. */
export const matmul: CpuKernel = (n, [aa, ba], out) => {
  const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
  const [sa, sb] = [n.inputs[0].shape, n.inputs[1].shape];
  const [m, p] = n.shape;
  const k = transA ? sa[0] : sa[1];
  const c = f32(out).fill(0);
  if (isQuantizedTensor(aa)) return quantizedA(aa, transA, opOf(ba, sb, transB), m, p, k, c);
  const a = opOf(aa, sa, transA);
  if (isQuantizedTensor(ba)) return quantizedB(ba, transB, a, m, p, k, c);
  gemm(m, p, k, a, 0, opOf(ba, sb, transB), 0, c, 0);
};

/** An f32 operand as its row-major `op(x)`. */
function opOf(x: KernelInput, shape: readonly number[], trans: boolean): Float32Array {
  return trans ? transpose(f32(x), shape[0], shape[1]) : f32(x);
}

/** `c += op(a) · b` with `a` quantised, `b` = op(b) row-major `[k, p]`. */
function quantizedA(
  a: KernelInput,
  transA: boolean,
  b: Float32Array,
  m: number,
  p: number,
  k: number,
  c: Float32Array,
): void {
  if (!transA) {
    // a stored [m, k]: a block of stored rows is a block of output rows.
    const rows = rowReader(a, k);
    for (let r = 0; r < m; r += WEIGHT_BLOCK_ROWS) {
      const cnt = Math.min(WEIGHT_BLOCK_ROWS, m - r);
      const blk = rows(r, cnt);
      gemm(cnt, p, k, blk.data, blk.offset, b, 0, c, r * p);
    }
    return;
  }
  // a stored [k, m]: a block of stored rows is a block of k, summed in order.
  const rows = rowReader(a, m);
  const t = new Float32Array(m * WEIGHT_BLOCK_ROWS);
  for (let r = 0; r < k; r += WEIGHT_BLOCK_ROWS) {
    const cnt = Math.min(WEIGHT_BLOCK_ROWS, k - r);
    const blk = rows(r, cnt);
    transpose(blk.data.subarray(blk.offset, blk.offset + cnt * m), cnt, m, t);
    gemm(m, p, cnt, t, 0, b, r * p, c, 0);
  }
}

/** `c += a · op(b)` with `b` quantised, `a` = op(a) row-major `[m, k]`. */
function quantizedB(
  b: KernelInput,
  transB: boolean,
  a: Float32Array,
  m: number,
  p: number,
  k: number,
  c: Float32Array,
): void {
  if (!transB) {
    // b stored [k, p]: a block of stored rows is a block of k; a's matching columns are copied.
    const rows = rowReader(b, p);
    const aCols = new Float32Array(m * WEIGHT_BLOCK_ROWS);
    for (let r = 0; r < k; r += WEIGHT_BLOCK_ROWS) {
      const cnt = Math.min(WEIGHT_BLOCK_ROWS, k - r);
      for (let i = 0; i < m; i++) {
        for (let u = 0; u < cnt; u++) aCols[i * cnt + u] = a[i * k + r + u];
      }
      const blk = rows(r, cnt);
      gemm(m, p, cnt, aCols, 0, blk.data, blk.offset, c, 0);
    }
    return;
  }
  // b stored [p, k]: a block of stored rows is a block of output columns.
  const rows = rowReader(b, k);
  const t = new Float32Array(k * WEIGHT_BLOCK_ROWS);
  const part = new Float32Array(m * WEIGHT_BLOCK_ROWS);
  for (let r = 0; r < p; r += WEIGHT_BLOCK_ROWS) {
    const cnt = Math.min(WEIGHT_BLOCK_ROWS, p - r);
    const blk = rows(r, cnt);
    transpose(blk.data.subarray(blk.offset, blk.offset + cnt * k), cnt, k, t);
    part.fill(0, 0, m * cnt);
    gemm(m, cnt, k, a, 0, t, 0, part, 0);
    for (let i = 0; i < m; i++) {
      for (let u = 0; u < cnt; u++) c[i * p + r + u] = part[i * cnt + u];
    }
  }
}
