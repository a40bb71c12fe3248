/**
 * What training builds a model from: a builder of the model around an
 * adaptor, and how its new head starts. Plain types, imported by the
 * training loop, the backbone registry and the probe alike.
 * @module
 */
import type { Adaptor, Model } from "../models/mod.ts";

/** What a model builder is given besides the adaptor. */
export interface ModelSetting {
  /** Examples per step. */
  readonly batch: number;
  /** Classes of the new head (the training set's). */
  readonly classes: number;
}

/** Builds the model to train with `adaptor` on every conv→BN pair (e.g. `resnet20`). */
export type ModelBuilder = (adaptor: Adaptor, setting: ModelSetting) => Model;

/**
 * How the new head (`fc.*`) starts: `normal` (its own initialisation),
 * `zeros`, or `probe`: the linear probe fitted on the initial network's
 * pooled features (linear-probe-then-adapt).
 */
export type HeadInit = "normal" | "zeros" | "probe";
