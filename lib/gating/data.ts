/**
 * The data a gated-inference run reads: a domain's training split divided
 * into the examples an adaptor trains on and a held-out calibration tail, the
 * normalization statistics, and the evaluated test examples.
 * @module
 */
import { type ChannelStats, channelStats } from "../data/batch.ts";
import { type DataOrigin, loadDomain } from "../data/cache.ts";
import { type Dataset, subset } from "../data/dataset.ts";

/** Training examples held out at the end of the training split for calibrating gates. */
export const CALIBRATION_EXAMPLES = 1000;

/** A domain as gated inference uses it. */
export interface GatingData {
  /** Training examples an adaptor may train on (the training split without its tail). */
  readonly fit: Dataset;
  /** The last {@linkcode CALIBRATION_EXAMPLES} training examples (never trained on, never tested). */
  readonly calibration: Dataset;
  /** The test split, possibly limited to its first examples. */
  readonly test: Dataset;
  /** Normalization statistics of the whole training split. */
  readonly stats: ChannelStats;
}

/** Options of {@linkcode loadGatingData}. */
export interface GatingDataOptions {
  /** `cache` (full data, `deno task data`) or `embedded` (default: cache when prepared). */
  readonly origin?: DataOrigin;
  /** Evaluate only the first this many test examples (default all). */
  readonly testLimit?: number;
  /** Held-out calibration examples (default {@linkcode CALIBRATION_EXAMPLES}, at most a fifth of the split). */
  readonly calibration?: number;
}

function range(from: number, to: number): Int32Array {
  return Int32Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** True when the full data cache has been prepared. */
export async function hasCache(dir = ".cache/da3-data"): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/manifest.json`);
    return true;
  } catch {
    return false;
  }
}

/** Splits a training set into the examples to fit on and its held-out calibration tail. */
export function holdOutCalibration(
  train: Dataset,
  examples = CALIBRATION_EXAMPLES,
): { fit: Dataset; calibration: Dataset } {
  const n = train.labels.length;
  const cal = Math.min(examples, Math.floor(n / 5));
  return { fit: subset(train, range(0, n - cal)), calibration: subset(train, range(n - cal, n)) };
}

/** Loads `domain` and divides its training split into fitting and calibration examples. */
export async function loadGatingData(
  domain: string,
  options: GatingDataOptions = {},
): Promise<GatingData> {
  const origin = options.origin ?? (await hasCache() ? "cache" : "embedded");
  const { train, test } = await loadDomain(domain, { origin });
  const limit = Math.min(options.testLimit ?? Infinity, test.labels.length);
  return {
    ...holdOutCalibration(train, options.calibration),
    test: limit < test.labels.length ? subset(test, range(0, limit)) : test,
    stats: channelStats(train),
  };
}
