/**
 * Datasets as plain data: uint8 images in NCHW order with uint8 labels, and
 * the pure functions that select from them.
 * @module
 */
import { DataError } from "./errors.ts";
import { mulberry32, permutation } from "../rng.ts";

/** Shape of one image: channels, height, width. */
export type ImageShape = readonly [c: number, h: number, w: number];

/** A labelled image set: `images` holds `labels.length` images of `shape`, NCHW, uint8. */
export interface Dataset {
  /** Domain name (`mnist`, `fashion`, …). */
  name: string;
  /** Class names; labels index into it. */
  classes: readonly string[];
  /** Pixel values 0–255, N×C×H×W. */
  images: Uint8Array;
  /** One label per image, each < `classes.length`. */
  labels: Uint8Array;
  /** Shape of one image. */
  shape: ImageShape;
  /** The domain this one is computed from, when it is derived. */
  derivedFrom?: string;
  /** Where the data comes from (package, file, construction). */
  source: string;
  /**
   * Near-duplicate groups (e.g. emoji families), one id per example: a split
   * of this set keeps each group on one side. Absent when every example
   * stands alone.
   */
  groups?: Uint32Array;
}

/** A domain's training and test sets. */
export interface Split {
  /** Examples to train on. */
  train: Dataset;
  /** Held-out examples for evaluation. */
  test: Dataset;
}

/** Number of pixels (values) of one image. */
export function imageSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

/** Number of examples. */
export function datasetLength(ds: Dataset): number {
  return ds.labels.length;
}

/** Throws {@linkcode DataError} unless images, labels, shape and classes agree. */
export function checkDataset(ds: Dataset): Dataset {
  const n = ds.labels.length, size = imageSize(ds.shape);
  if (ds.images.length !== n * size) {
    throw new DataError(
      ds.name,
      `${ds.images.length} pixel values for ${n} labels of shape [${ds.shape}] (need ${n * size})`,
    );
  }
  if (ds.groups && ds.groups.length !== n) {
    throw new DataError(ds.name, `${ds.groups.length} group ids for ${n} labels`);
  }
  const k = ds.classes.length;
  for (let i = 0; i < n; i++) {
    if (ds.labels[i] >= k) {
      throw new DataError(ds.name, `label ${ds.labels[i]} at ${i} ≥ ${k} classes`);
    }
  }
  return ds;
}

/** The examples at `indices`, in that order. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = imageSize(ds.shape);
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  const groups = ds.groups && Uint32Array.from(indices, (j) => ds.groups![j]);
  return { ...ds, images, labels, ...(groups ? { groups } : {}) };
}

/** How many examples each class has. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  for (const l of ds.labels) counts[l]++;
  return counts;
}

/**
 * Indices of up to `perClass` examples of each class, chosen at random with
 * `seed`, returned in ascending order.
 */
export function balancedIndices(
  labels: Uint8Array,
  classes: number,
  perClass: number,
  seed: number,
): number[] {
  const order = permutation(labels.length, mulberry32(seed));
  const taken = new Array<number>(classes).fill(0);
  const out: number[] = [];
  for (const i of order) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]]++;
      out.push(i);
    }
  }
  return out.sort((a, b) => a - b);
}
