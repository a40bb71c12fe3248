/**
 * Row blocks of a weight for the CPU kernels: an f32 weight is read in
 * place, a reduced-precision one is dequantised one block at a time into a
 * small buffer, so no kernel ever holds a whole f32 copy of it.
 * @module
 */
import type { KernelInput } from "../../data.ts";
import { dequantizeRange, isQuantizedTensor } from "../../quantized.ts";

/** Stored rows a kernel dequantises at once (a multiple of gemm's 4-row block). */
export const WEIGHT_BLOCK_ROWS = 16;

/** Where a block of rows lies: `data` from element `offset`, `rowLength` elements per row. */
export interface RowBlock {
  /** The f32 elements (the weight itself, or the block buffer). */
  readonly data: Float32Array;
  /** The element offset of the block's first row in `data`. */
  readonly offset: number;
}

/** A reader of row blocks of one weight with `rowLength` elements per stored row. */
export function rowReader(
  w: KernelInput,
  rowLength: number,
): (row: number, count: number) => RowBlock {
  if (!isQuantizedTensor(w)) {
    const data = w as Float32Array;
    return (row) => ({ data, offset: row * rowLength });
  }
  const buf = new Float32Array(WEIGHT_BLOCK_ROWS * rowLength);
  return (row, count) => {
    if (count > WEIGHT_BLOCK_ROWS) throw new RangeError(`rowReader: ${count} rows in one block`);
    dequantizeRange(w, row * rowLength, count * rowLength, buf);
    return { data: buf, offset: 0 };
  };
}
