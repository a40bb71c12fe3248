/**
 * The graphs training runs for a built model: forward and backward of the
 * loss (cross-entropy, plus the gate-sparsity penalty when asked), the
 * eval-mode forward, the batch-norm probes and which parameters are the
 * domain's own.
 * @module
 */
import { type Method, perDomainParams } from "../adapt/mod.ts";
import { grad, type GradResult } from "../autodiff/mod.ts";
import { findGatedPairs, type GatedPairNodes } from "../gating/structure.ts";
import { gateSparsityPenalty } from "../gating/sparsity.ts";
import {
  add,
  type Graph,
  graph,
  type ParamStorage,
  scale,
  type ScaleGranularity,
  sourceName,
  withEvalNorms,
  withFrozenStorage,
} from "../graph/mod.ts";
import { classificationLoss, type Model } from "../models/mod.ts";
import { type BnProbe, bnProbe, domainBnProbe } from "./bn_stats.ts";
import { TrainingError } from "./errors.ts";

/** The training and evaluation graphs of a method on a model. */
export interface MethodGraphs {
  /**
   * Forward + backward, outputs `[loss, logits, ...grads]`, with frozen
   * eval-mode batch norms folded into the convolutions (`fuseConvBn`).
   */
  readonly train: GradResult;
  /** Forward only with eval-mode batch norms, output `[logits]`. */
  readonly eval: Graph;
  /** Probe for re-estimating batch-statistics BN running stats. */
  readonly probe: BnProbe;
  /** Probe over every batch norm as a training-mode pass sees it (per-domain statistics). */
  readonly domainProbe: BnProbe;
  /** Parameters stored per domain. */
  readonly own: readonly string[];
  /** The gated DA³ pairs the loss's gate-sparsity penalty covers (empty without one). */
  readonly gated: readonly GatedPairNodes[];
  /** The method's learning-rate multiplier per parameter. */
  readonly lrScale: (paramName: string) => number;
}

/**
 * Builds the training graphs of `model`, built with `method`'s adaptor;
 * `gateSparsity` λ (default 0); frozen conv and linear weights stored as
 * `frozenWeights` (default f32; see `withFrozenStorage`), u8 with
 * `frozenScales` (default one scale per output channel).
 */
export function modelGraphs(
  model: Model,
  method: Method,
  gateSparsity = 0,
  frozenWeights: ParamStorage = "f32",
  frozenScales: ScaleGranularity = "channel",
): MethodGraphs {
  const gated = gateSparsity > 0 ? findGatedPairs(model, graph(model.logits)) : [];
  if (gateSparsity > 0 && gated.length === 0) {
    throw new TrainingError(`gate sparsity needs DA³ gated pairs; ${method.name} has none`);
  }
  const ce = classificationLoss(model);
  const full = gateSparsity > 0 ? add(ce, scale(gateSparsityPenalty(gated), gateSparsity)) : ce;
  const [loss, logits] = withFrozenStorage([full, model.logits], frozenWeights, frozenScales);
  // Frozen batch norms folded into the convolutions: the same bits on the CPU, less arena.
  const train = grad(loss, { keep: [logits], fuseConvBn: true });
  return {
    train,
    eval: graph(...withEvalNorms([logits])),
    probe: bnProbe([logits]),
    domainProbe: domainBnProbe([logits]),
    own: perDomainParams(train.graph).map(sourceName),
    gated,
    lrScale: method.lrScale ?? (() => 1),
  };
}
