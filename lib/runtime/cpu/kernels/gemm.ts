/**
 * Dense matrix products on row-major Float32Arrays, the workhorse of the CPU
 * conv and matmul kernels. Four output rows are computed together so each
 * element of `b` is loaded once per four multiply-adds.
 * @module
 */

/** `c[m×n] += a[m×k] · b[k×n]` (offsets in elements). */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
    const a0 = aOff + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    for (let r = 0; r < k; r++) {
      const v0 = a[a0 + r], v1 = a[a1 + r], v2 = a[a2 + r], v3 = a[a3 + r];
      const br = bOff + r * n;
      for (let j = 0; j < n; j++) {
        const bv = b[br + j];
        c[c0 + j] += v0 * bv;
        c[c1 + j] += v1 * bv;
        c[c2 + j] += v2 * bv;
        c[c3 + j] += v3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const ci = cOff + i * n, ai = aOff + i * k;
    for (let r = 0; r < k; r++) {
      const v = a[ai + r], br = bOff + r * n;
      for (let j = 0; j < n; j++) c[ci + j] += v * b[br + j];
    }
  }
}

/** The transpose of a row-major `rows×cols` matrix, written into `t` (a new array by default). */
export function transpose(
  a: Float32Array,
  rows: number,
  cols: number,
  t: Float32Array = new Float32Array(rows * cols),
): Float32Array {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  }
  return t;
}
