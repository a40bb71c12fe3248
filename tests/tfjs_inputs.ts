/**
 * The fixed images of the TF.js parity fixture: integer patterns (smooth
 * ramps plus hashed noise) quantised to k/255, so the oracle script and the
 * test build bit-identical inputs in either layout.
 * @module
 */

/** Pixel `(y, x)` of channel `c` of image `n`, in [0, 1]. */
export function parityPixel(n: number, c: number, y: number, x: number): number {
  const ramp = (x * (3 + n) + y * (5 + 2 * c) + 71 * c + 29 * n) % 256;
  const h = Math.imul((((n * 3 + c) * 1024 + y) * 1024 + x) ^ 0x9e3779b9, 0x85ebca6b) >>> 24;
  return Math.floor((3 * ramp + h) / 4) / 255;
}

/** `count` images `[count, 3, size, size]` (NCHW), flattened. */
export function parityImagesNchw(count: number, size: number): Float32Array {
  const out = new Float32Array(count * 3 * size * size);
  let i = 0;
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) out[i++] = parityPixel(n, c, y, x);
      }
    }
  }
  return out;
}

/** The same images as `[count, size, size, 3]` (NHWC), flattened. */
export function parityImagesNhwc(count: number, size: number): Float32Array {
  const out = new Float32Array(count * 3 * size * size);
  let i = 0;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) out[i++] = parityPixel(n, c, y, x);
    }
  }
  return out;
}
