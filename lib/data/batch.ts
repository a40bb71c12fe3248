/**
 * Deterministic shuffling and batching of a dataset into normalized
 * `Float32Array` NCHW batches, with optional light augmentation (random crop
 * with zero padding; horizontal flip only where it preserves the label).
 * @module
 */
import type { Dataset } from "./dataset.ts";
import { imageSize } from "./dataset.ts";
import { mixSeeds, mulberry32, permutation, type Rand, randInt } from "../rng.ts";

/** Per-channel mean and standard deviation of pixel values scaled to [0, 1]. */
export interface ChannelStats {
  /** Mean per channel. */
  mean: number[];
  /** Standard deviation per channel (never below 1e-3). */
  std: number[];
}

/** Label-preserving augmentation. */
export interface Augment {
  /** Pad each side by this many zero pixels, then crop back at a random offset (0: none). */
  cropPadding: number;
  /** Mirror left–right with probability ½ (only for domains where that keeps the label). */
  flip: boolean;
}

/** No augmentation. */
export const NO_AUGMENT: Augment = { cropPadding: 0, flip: false };

/** One batch: images `x` as `[n, C, H, W]` floats, labels `y`, and which examples they are. */
export interface Batch {
  /** Normalized pixels, NCHW. */
  x: Float32Array;
  /** Labels as i32 (what `softmaxCrossEntropy` takes). */
  y: Int32Array;
  /** `[n, C, H, W]`. */
  shape: [number, number, number, number];
  /** Index in the dataset of each example. */
  indices: Int32Array;
}

/** Options of {@linkcode batches}. */
export interface BatchOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Seed of the shuffle and of the augmentation. */
  seed: number;
  /** Epoch number: each epoch has its own order. Default 0. */
  epoch?: number;
  /** Shuffle the order (default true; false keeps dataset order, as for evaluation). */
  shuffle?: boolean;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  /** Normalization statistics (default: computed from this dataset). */
  stats?: ChannelStats;
  /** Augmentation (default none). */
  augment?: Augment;
}

/** Per-channel statistics of a dataset, on pixel values scaled to [0, 1]. */
export function channelStats(ds: Dataset): ChannelStats {
  const [c, h, w] = ds.shape, plane = h * w, n = ds.labels.length;
  const sum = new Float64Array(c), sq = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const off = (i * c + k) * plane;
      let s = 0, s2 = 0;
      for (let p = 0; p < plane; p++) {
        const v = ds.images[off + p];
        s += v;
        s2 += v * v;
      }
      sum[k] += s;
      sq[k] += s2;
    }
  }
  const count = Math.max(1, n * plane);
  const mean = Array.from(sum, (s) => s / count / 255);
  const std = Array.from(
    sq,
    (s2, k) => Math.max(Math.sqrt(Math.max(s2 / count / 65025 - mean[k] ** 2, 0)), 1e-3),
  );
  return { mean, std };
}

/** The order of examples in epoch `epoch` for `seed`: a permutation of 0..n-1. */
export function epochOrder(n: number, seed: number, epoch = 0): Int32Array {
  return permutation(n, mulberry32(mixSeeds(seed, epoch)));
}

/** Number of batches per epoch. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Writes example `j` of `ds`, normalized and augmented, at `x[offset…]`. */
function writeExample(
  ds: Dataset,
  j: number,
  x: Float32Array,
  offset: number,
  stats: ChannelStats,
  augment: Augment,
  rand: Rand,
): void {
  const [c, h, w] = ds.shape, plane = h * w, pad = augment.cropPadding;
  const dy = pad > 0 ? randInt(rand, 2 * pad + 1) - pad : 0;
  const dx = pad > 0 ? randInt(rand, 2 * pad + 1) - pad : 0;
  const flip = augment.flip && rand() < 0.5;
  for (let k = 0; k < c; k++) {
    const src = (j * c + k) * plane, dst = offset + k * plane;
    const scale = 1 / (255 * stats.std[k]), bias = -stats.mean[k] / stats.std[k];
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x0 = 0; x0 < w; x0++) {
        const sx = (flip ? w - 1 - x0 : x0) + dx;
        const v = sy >= 0 && sy < h && sx >= 0 && sx < w ? ds.images[src + sy * w + sx] : 0;
        x[dst + y * w + x0] = v * scale + bias;
      }
    }
  }
}

/** The batch of the examples at `indices` (augmentation draws from `rand`). */
export function makeBatch(
  ds: Dataset,
  indices: Int32Array,
  stats: ChannelStats,
  augment: Augment = NO_AUGMENT,
  rand: Rand = mulberry32(0),
): Batch {
  const [c, h, w] = ds.shape, size = imageSize(ds.shape), n = indices.length;
  const x = new Float32Array(n * size), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    writeExample(ds, indices[i], x, i * size, stats, augment, rand);
    y[i] = ds.labels[indices[i]];
  }
  return { x, y, shape: [n, c, h, w], indices };
}

/**
 * The batches of one epoch. Same `(seed, epoch)` → same batches; every
 * example appears exactly once per epoch (unless `dropLast` drops the tail).
 */
export function* batches(ds: Dataset, opts: BatchOptions): Generator<Batch> {
  const n = ds.labels.length, epoch = opts.epoch ?? 0;
  const order = opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : epochOrder(
    n,
    opts.seed,
    epoch,
  );
  const stats = opts.stats ?? channelStats(ds);
  const augment = opts.augment ?? NO_AUGMENT;
  const rand = mulberry32(mixSeeds(opts.seed ^ 0x5bd1e995, epoch));
  const count = batchCount(n, opts.batchSize, opts.dropLast);
  for (let b = 0; b < count; b++) {
    const indices = order.subarray(b * opts.batchSize, Math.min(n, (b + 1) * opts.batchSize));
    yield makeBatch(ds, indices, stats, augment, rand);
  }
}
