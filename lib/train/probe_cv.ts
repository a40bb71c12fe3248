/**
 * The linear probe's penalty, chosen by stratified k-fold cross-validation on
 * the training examples only, and the final fit on all of them at that
 * penalty. Each fold standardises with its own training part's statistics.
 * @module
 */
import { mixSeeds, mulberry32, permutation } from "../rng.ts";
import {
  featureRows,
  type Features,
  fitSoftmaxRegression,
  fitStandardizer,
  foldStandardizer,
  headAccuracy,
  type ProbeFit,
  standardize,
} from "./probe_fit.ts";

/** The default penalty grid: λ = 10^-6 … 10^1 in half-decade steps. */
export const PROBE_PENALTIES: readonly number[] = Array.from(
  { length: 15 },
  (_, i) => 10 ** (-6 + i / 2),
);

/** Fold (0…k−1) of each example: stratified by class, in a seeded order. */
export function stratifiedFolds(
  labels: ArrayLike<number>,
  folds: number,
  seed: number,
): Int32Array {
  const out = new Int32Array(labels.length), next = new Map<number, number>();
  for (const i of permutation(labels.length, mulberry32(mixSeeds(seed, 0xcf01d)))) {
    const c = next.get(labels[i]) ?? 0;
    out[i] = c % folds;
    next.set(labels[i], c + 1);
  }
  return out;
}

/** Mean held-out accuracy of one penalty over the folds. */
export interface PenaltyScore {
  /** λ. */
  readonly lambda: number;
  /** Mean held-out top-1 over the folds. */
  readonly accuracy: number;
}

/** Options of {@linkcode crossValidatePenalty} and {@linkcode fitProbe}. */
export interface ProbeOptions {
  /** Classes. */
  readonly classes: number;
  /** Penalties tried (default {@linkcode PROBE_PENALTIES}). */
  readonly penalties?: readonly number[];
  /** Folds (default 5). */
  readonly folds?: number;
  /** Seed of the fold assignment (default 0). */
  readonly seed?: number;
  /**
   * Gradient tolerance of the fold fits (default 1e-4: the fold fits only rank
   * penalties by held-out accuracy, which a tighter tolerance leaves unchanged
   * — measured on ResNet-20 features of fashion, 600 examples: the same λ,
   * scores within 1.5 points, 5× less time than 1e-6).
   */
  readonly cvGtol?: number;
  /** Gradient tolerance of the final fit (default 1e-8). */
  readonly gtol?: number;
  /** Most L-BFGS iterations per fit (default 2000). */
  readonly maxIter?: number;
}

/**
 * Every penalty's mean held-out accuracy over stratified folds, and the
 * chosen one: the best score, ties going to the larger penalty. Fits run from
 * the largest penalty down, each warm-started from the previous fold fit.
 */
export function crossValidatePenalty(
  f: Features,
  labels: ArrayLike<number>,
  options: ProbeOptions,
): { readonly lambda: number; readonly scores: readonly PenaltyScore[] } {
  const k = options.folds ?? 5, penalties = options.penalties ?? PROBE_PENALTIES;
  if (penalties.length === 0) throw new RangeError("probe: no penalty to choose from");
  const fold = stratifiedFolds(labels, k, options.seed ?? 0);
  const sums = new Map<number, number>(penalties.map((l) => [l, 0]));
  const descending = [...penalties].sort((a, b) => b - a);
  for (let v = 0; v < k; v++) {
    const fitRows: number[] = [], heldRows: number[] = [];
    for (let i = 0; i < labels.length; i++) (fold[i] === v ? heldRows : fitRows).push(i);
    const raw = featureRows(f, fitRows), s = fitStandardizer(raw), z = standardize(raw, s);
    const held = featureRows(f, heldRows);
    const fitLabels = fitRows.map((i) => labels[i]), heldLabels = heldRows.map((i) => labels[i]);
    let start: Float64Array | undefined;
    for (const lambda of descending) {
      const r = fitSoftmaxRegression(z, fitLabels, {
        classes: options.classes,
        lambda,
        gtol: options.cvGtol ?? 1e-4,
        maxIter: options.maxIter,
        start,
      });
      start = r.theta;
      const acc = headAccuracy(foldStandardizer(r.head, s), held, heldLabels);
      sums.set(lambda, sums.get(lambda)! + acc / k);
    }
  }
  const scores = penalties.map((lambda) => ({ lambda, accuracy: sums.get(lambda)! }));
  let best = descending[0];
  for (const l of descending) if (sums.get(l)! > sums.get(best)! + 1e-12) best = l;
  return { lambda: best, scores };
}

/** A probe fitted to convergence on all given examples at the cross-validated penalty. */
export interface FittedProbe extends ProbeFit {
  /** The chosen penalty. */
  readonly lambda: number;
  /** Every penalty's cross-validation score. */
  readonly scores: readonly PenaltyScore[];
}

/** Chooses λ by cross-validation on `f`, then fits on all of `f` at that λ (head on raw features). */
export function fitProbe(
  f: Features,
  labels: ArrayLike<number>,
  options: ProbeOptions,
): FittedProbe {
  const { lambda, scores } = crossValidatePenalty(f, labels, options);
  const s = fitStandardizer(f);
  const r = fitSoftmaxRegression(standardize(f, s), labels, {
    classes: options.classes,
    lambda,
    gtol: options.gtol ?? 1e-8,
    maxIter: options.maxIter,
  });
  return {
    head: foldStandardizer(r.head, s),
    loss: r.loss,
    gradNorm: r.gradNorm,
    iterations: r.iterations,
    converged: r.converged,
    lambda,
    scores,
  };
}
