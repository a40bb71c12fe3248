/**
 * Domains derived from others the way the literature builds them, computed
 * deterministically at load time from stored data and a seed.
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { DataError } from "./errors.ts";
import type { IdxArray } from "./idx.ts";
import { mulberry32, randInt } from "../rng.ts";

/**
 * MNIST-M-style colour blend (Ganin & Lempitsky, 2015): each grayscale digit
 * is combined with a random patch of a colour photo as `|patch − digit|` per
 * channel. `photos` is `[n, 3, H, W]`; the patch (photo and position) comes
 * from `seed` and the example's index, so the result is reproducible.
 */
export function blendWithPhotos(
  digits: Dataset,
  photos: IdxArray,
  seed: number,
  name = `${digits.name}-m`,
): Dataset {
  const [c, h, w] = digits.shape;
  const [np, pc, ph, pw] = photos.dims;
  if (c !== 1 || photos.dims.length !== 4 || pc !== 3 || ph < h || pw < w) {
    throw new DataError(name, `cannot blend [${digits.shape}] digits with photos [${photos.dims}]`);
  }
  const n = digits.labels.length, plane = h * w, photoPlane = ph * pw;
  const images = new Uint8Array(n * 3 * plane);
  const rand = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    const p = randInt(rand, np), oy = randInt(rand, ph - h + 1), ox = randInt(rand, pw - w + 1);
    for (let k = 0; k < 3; k++) {
      const src = (p * 3 + k) * photoPlane, dst = (i * 3 + k) * plane;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const d = digits.images[i * plane + y * w + x];
          images[dst + y * w + x] = Math.abs(photos.data[src + (oy + y) * pw + ox + x] - d);
        }
      }
    }
  }
  return {
    ...digits,
    name,
    images,
    shape: [3, h, w],
    derivedFrom: digits.name,
    source: `${digits.source}; blended with photo patches (|patch − digit|, seed ${seed})`,
  };
}
