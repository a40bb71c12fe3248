/**
 * Piggyback (Mallya et al., 2018): a real-valued mask per frozen conv weight,
 * binarized in forward with a straight-through gradient; the conv uses
 * `w ⊙ binarize(m)`. The mask gradient reads the conv input, so memory is
 * like fine-tuning; each domain stores 1 bit per conv weight.
 * @module
 */
import { mul, param, type Tensor } from "../graph/mod.ts";
import { binarize } from "../graph/ops/binarize.ts";
import type { Adaptor, ConvBnSpec } from "../models/adaptor.ts";
import { type BnTraining, convBnLayer } from "../models/conv_bn.ts";
import type { Method } from "./method.ts";

/** Options of {@linkcode piggyback}. */
export interface PiggybackOptions {
  /** Binarization threshold (default 5e-3). */
  readonly threshold?: number;
  /** Initial mask value (default 1e-2: every weight kept at first). */
  readonly init?: number;
  /** How the batch norms train (default `frozen`). */
  readonly bn?: BnTraining;
  /**
   * The masks' learning rate relative to the run's (default 0.1): a mask
   * starts 5e-3 above the threshold, so at the head's rate one Adam step
   * could flip every weight at once.
   */
  readonly maskLrScale?: number;
}

/** The mask parameter of a pair's conv: `${conv}.mask`, shaped like the weight. */
export function maskName(pair: ConvBnSpec): string {
  return `${pair.conv}.mask`;
}

/** Frozen convs whose weights are masked by trainable, binarized masks; new head. */
export function piggyback(options: PiggybackOptions = {}): Method {
  const threshold = options.threshold ?? 5e-3;
  const init = options.init ?? 1e-2;
  const masked = (pair: ConvBnSpec) => (w: Tensor) =>
    mul(w, binarize(param(maskName(pair), w.shape, { init: { constant: init } }), threshold));
  const adaptor: Adaptor = {
    name: "piggyback",
    convBn: (x, pair) => convBnLayer(x, pair, { weight: masked(pair), bn: options.bn ?? "frozen" }),
  };
  return {
    name: "piggyback",
    adaptor,
    storedBits: (name) => (name.endsWith(".mask") ? 1 : 32),
    lrScale: (name) => (name.endsWith(".mask") ? options.maskLrScale ?? 0.1 : 1),
  };
}
