/**
 * Pure image transforms on whole datasets: bilinear resize, centred padding,
 * channel replication, and the canonical 3×32×32 form every domain is
 * delivered in so that one backbone fits all.
 * @module
 */
import type { Dataset, ImageShape } from "./dataset.ts";
import { DataError } from "./errors.ts";

/** Side of the canonical square image. */
export const CANONICAL_SIZE = 32;
/** Channels of the canonical image (grayscale is replicated). */
export const CANONICAL_CHANNELS = 3;

/** Bilinear resize of one channel plane (half-pixel centres, edges clamped). */
export function resizePlane(
  src: Uint8Array,
  h: number,
  w: number,
  oh: number,
  ow: number,
): Uint8Array {
  const out = new Uint8Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(Math.max((y + 0.5) * h / oh - 0.5, 0), h - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, h - 1), fy = sy - y0;
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(Math.max((x + 0.5) * w / ow - 0.5, 0), w - 1);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, w - 1), fx = sx - x0;
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[y * ow + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

function mapPlanes(
  ds: Dataset,
  shape: ImageShape,
  f: (plane: Uint8Array, c: number) => Uint8Array,
): Dataset {
  const [c, h, w] = ds.shape, [oc, oh, ow] = shape;
  const n = ds.labels.length, inPlane = h * w, outPlane = oh * ow;
  const images = new Uint8Array(n * oc * outPlane);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < oc; k++) {
      const src = ds.images.subarray((i * c + (k % c)) * inPlane, (i * c + (k % c) + 1) * inPlane);
      images.set(f(src, k), (i * oc + k) * outPlane);
    }
  }
  return { ...ds, images, shape };
}

/** Every image resized (bilinear) to `h`×`w`. */
export function resize(ds: Dataset, h: number, w: number): Dataset {
  const [c, ih, iw] = ds.shape;
  return mapPlanes(ds, [c, h, w], (p) => resizePlane(p, ih, iw, h, w));
}

/** Every image padded with zeros, centred, to `h`×`w` (each at least the current size). */
export function padTo(ds: Dataset, h: number, w: number): Dataset {
  const [c, ih, iw] = ds.shape;
  if (ih > h || iw > w) throw new DataError(ds.name, `cannot pad ${ih}×${iw} images to ${h}×${w}`);
  const top = (h - ih) >> 1, left = (w - iw) >> 1;
  return mapPlanes(ds, [c, h, w], (p) => {
    const out = new Uint8Array(h * w);
    for (let y = 0; y < ih; y++) out.set(p.subarray(y * iw, (y + 1) * iw), (y + top) * w + left);
    return out;
  });
}

/** Grayscale images replicated to `channels` channels (unchanged when already so). */
export function toChannels(ds: Dataset, channels: number): Dataset {
  const [c, h, w] = ds.shape;
  if (c === channels) return ds;
  if (c !== 1) throw new DataError(ds.name, `cannot turn ${c} channels into ${channels}`);
  return mapPlanes(ds, [channels, h, w], (p) => p);
}

/** Options of {@linkcode toCanonical}. */
export interface CanonicalOptions {
  /** Resize the image to `fit`×`fit` before padding (for images much smaller than 28×28). */
  fit?: number;
  /** Output side (default 32). */
  size?: number;
  /** Output channels (default 3). */
  channels?: number;
}

/** The dataset as `channels`×`size`×`size` (default 3×32×32): optional resize, centred pad, replicate. */
export function toCanonical(ds: Dataset, opts: CanonicalOptions = {}): Dataset {
  const size = opts.size ?? CANONICAL_SIZE, channels = opts.channels ?? CANONICAL_CHANNELS;
  let out = opts.fit ? resize(ds, opts.fit, opts.fit) : ds;
  const [, h, w] = out.shape;
  if (h > size || w > size) out = resize(out, size, size);
  else if (h !== size || w !== size) out = padTo(out, size, size);
  return toChannels(out, channels);
}
