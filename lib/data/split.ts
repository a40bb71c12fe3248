/**
 * The validation split: a seeded, class-stratified part of a domain's
 * training data held out for model selection. It is carved from the training
 * split only, so it never meets the test split, and the examples left to
 * train on are exactly the rest.
 * @module
 */
import { classCounts, type Dataset, subset } from "./dataset.ts";
import { holdOutGroups } from "./split_groups.ts";
import { DataError } from "./errors.ts";
import { mixSeeds, mulberry32, permutation } from "../rng.ts";

/** Training examples and the validation examples held out of them, as ascending indices. */
export interface IndexSplit {
  /** Indices left to train on. */
  readonly train: Int32Array;
  /** Indices held out for validation. */
  readonly validation: Int32Array;
}

/** A training set divided into the examples to fit on and the validation examples. */
export interface TrainValidation {
  /** Examples to fit on. */
  readonly train: Dataset;
  /** Held-out examples for model selection (never trained on, never the test split). */
  readonly validation: Dataset;
}

/** Salt mixed into the seed so that the split's order differs from every epoch's shuffle. */
const SPLIT_SALT = 0x7a11d;

/**
 * Number of validation examples out of `n` for `size`: a fraction in [0, 1)
 * of `n` (rounded), or a count of at least 1. Throws {@linkcode DataError}
 * unless at least one example is left to train on.
 */
export function validationCount(n: number, size: number, what = "training split"): number {
  if (!Number.isFinite(size) || size < 0 || (size >= 1 && !Number.isInteger(size))) {
    throw new DataError(what, `validation size ${size}: need a fraction in [0, 1) or a count ≥ 1`);
  }
  const v = size < 1 ? Math.round(size * n) : size;
  if (v > n - 1) {
    throw new DataError(
      what,
      `validation size ${size} holds out ${v} of ${n} examples, leaving none to train on`,
    );
  }
  return v;
}

/**
 * Per-class validation quotas summing to `total`, proportional to `counts`
 * (largest remainder; ties go to the lower class index).
 */
export function stratifiedQuotas(counts: readonly number[], total: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (total * c) / n);
  const quotas = exact.map(Math.floor);
  let left = total - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((_, k) => k).sort((a, b) =>
    (exact[b] - quotas[b]) - (exact[a] - quotas[a]) || a - b
  );
  for (const k of order) {
    if (left === 0) break;
    if (quotas[k] < counts[k]) {
      quotas[k]++;
      left--;
    }
  }
  return quotas;
}

/**
 * Carves a validation split out of training labels: `size` (see
 * {@linkcode validationCount}) examples, stratified by class, chosen in the
 * order of a permutation seeded with `seed`. Pure: the same labels, size and
 * seed give the same split; the two parts are disjoint and together cover
 * every index.
 */
export function carveValidation(
  labels: ArrayLike<number>,
  classes: number,
  size: number,
  seed: number,
): IndexSplit {
  const n = labels.length;
  const total = validationCount(n, size);
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  const quotas = stratifiedQuotas(counts, total);
  const held = new Uint8Array(n);
  for (const i of permutation(n, mulberry32(mixSeeds(seed, SPLIT_SALT)))) {
    const k = labels[i];
    if (quotas[k] > 0) {
      quotas[k]--;
      held[i] = 1;
    }
  }
  const train = new Int32Array(n - total), validation = new Int32Array(total);
  let t = 0, v = 0;
  for (let i = 0; i < n; i++) {
    if (held[i]) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation };
}

/**
 * Divides a training set into the examples to fit on and a validation split
 * (see {@linkcode carveValidation}). A set with near-duplicate groups
 * (`ds.groups`, the emoji families) is carved group by group, each group
 * whole on one side ({@linkcode holdOutGroups}), so the validation size is
 * close to `size` (whole groups: up to a group more per class).
 */
export function splitValidation(ds: Dataset, size: number, seed: number): TrainValidation {
  const total = validationCount(ds.labels.length, size, `${ds.name} training split`);
  const { train, validation } = ds.groups
    ? holdOutGroups(
      ds.labels,
      ds.groups,
      stratifiedQuotas(classCounts(ds), total),
      permutation(ds.labels.length, mulberry32(mixSeeds(seed, SPLIT_SALT))),
    )
    : carveValidation(ds.labels, ds.classes.length, size, seed);
  return { train: subset(ds, train), validation: subset(ds, validation) };
}
