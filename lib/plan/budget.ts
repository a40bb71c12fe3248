/**
 * Fitting a training step to a memory budget: the largest batch whose plan
 * fits, or which saved values to recompute when even batch 1 does not.
 * @module
 */
import type { GradResult } from "../autodiff/mod.ts";
import type { Graph } from "../graph/mod.ts";
import { lowerBound } from "./lower_bound.ts";
import { planGraph, type PlanOptions } from "./plan.ts";
import { megabytes } from "./report.ts";
import {
  CPU_TARGET,
  type Interval,
  type Plan,
  type PlannedValue,
  type PlanTarget,
} from "./types.ts";

/** A saved value that backward could recompute instead of keeping. */
export interface RecomputeCandidate {
  /** Its index in `Plan.values`. */
  readonly index: number;
  /** Its name in the plan. */
  readonly name: string;
  /** The op that would run again. */
  readonly op: string;
  /** The bytes it keeps alive today. */
  readonly bytes: number;
}

/**
 * Which saved values to recompute instead of keep, and the estimated total
 * if they were: each keeps its bytes only until its last forward reader, and
 * a recomputed copy lives from its first to its last backward reader.
 */
export interface RecomputeAdvice {
  /** The values to recompute, biggest first. */
  readonly values: readonly RecomputeCandidate[];
  /** Estimated arena lower bound with them recomputed. */
  readonly estimatedArenaBytes: number;
  /** Persistent bytes plus `estimatedArenaBytes`. */
  readonly estimatedTotalBytes: number;
  /** Whether the estimate is within the budget. */
  readonly fits: boolean;
}

/** Thrown when even the smallest plan does not fit the budget. */
export class BudgetError extends Error {
  /** The budget asked for. */
  readonly budgetBytes: number;
  /** Total bytes of the smallest plan (batch 1). */
  readonly smallestBytes: number;
  /** `smallestBytes - budgetBytes`. */
  readonly excessBytes: number;
  /** The best recomputation found, which still does not fit. */
  readonly advice: RecomputeAdvice;
  /** Creates the error; the message says by how many MB the smallest plan is over. */
  constructor(budgetBytes: number, smallestBytes: number, advice: RecomputeAdvice) {
    const excess = smallestBytes - budgetBytes;
    super(
      `planFor: the smallest plan (batch 1) needs ${megabytes(smallestBytes)} MB, ${
        megabytes(excess)
      } MB over the budget of ${
        megabytes(budgetBytes)
      } MB; recomputing ${advice.values.length} saved ` +
        `values would still need about ${megabytes(advice.estimatedTotalBytes)} MB`,
    );
    this.name = "BudgetError";
    this.budgetBytes = budgetBytes;
    this.smallestBytes = smallestBytes;
    this.excessBytes = excess;
    this.advice = advice;
  }
}

/** Options of {@linkcode planFor}. */
export interface BudgetOptions extends PlanOptions {
  /** Total bytes allowed: weights + gradients + optimizer state + arena. */
  readonly budgetBytes: number;
  /** The largest batch to consider (default 4096). */
  readonly maxBatch?: number;
  /** The target the plans are made for (default {@linkcode CPU_TARGET}). */
  readonly target?: PlanTarget;
}

/** The result of {@linkcode planFor}. */
export interface BudgetPlan {
  /** The largest batch that fits (1 when only recomputation makes it fit). */
  readonly batch: number;
  /** The plan at that batch (without recomputation). */
  readonly plan: Plan;
  /** Present when batch 1 fits only with these values recomputed. */
  readonly recompute?: RecomputeAdvice;
}

function persistentBytes(plan: Plan): number {
  return plan.weightBytes + plan.gradientBytes + plan.optimizerBytes;
}

/** Arena intervals of a plan, in-place pairs counted once, with `drop` values recomputed. */
function arenaIntervals(plan: Plan, drop: ReadonlySet<number>): Interval[] {
  const takenOver = new Set<number>();
  for (const v of plan.values) if (v.inPlaceOf !== undefined) takenOver.add(v.inPlaceOf);
  const readSteps = new Map<number, number[]>();
  plan.schedule.forEach((i, s) =>
    plan.values[i].inputs.forEach((j) => {
      if (!readSteps.has(j)) readSteps.set(j, []);
      readSteps.get(j)!.push(s);
    })
  );
  const out: Interval[] = [];
  for (const v of plan.values) {
    if (v.offset === null) continue;
    const last = takenOver.has(v.index) ? v.lastRead - 1 : v.lastRead;
    if (!drop.has(v.index)) {
      out.push({ size: v.bytes, first: v.firstWrite, last });
      continue;
    }
    const steps = readSteps.get(v.index) ?? [];
    const backwardSteps = steps.filter((s) => isBackwardStep(plan, s));
    const forwardSteps = steps.filter((s) => !isBackwardStep(plan, s));
    out.push({ size: v.bytes, first: v.firstWrite, last: Math.max(v.firstWrite, ...forwardSteps) });
    if (backwardSteps.length > 0) {
      out.push({
        size: v.bytes,
        first: Math.min(...backwardSteps),
        last: Math.max(...backwardSteps),
      });
    }
  }
  return out;
}

function isBackwardStep(plan: Plan, step: number): boolean {
  return plan.values[plan.schedule[step]].phase === "backward";
}

/** True when `v` can be recomputed from values that backward keeps anyway. */
function recomputable(plan: Plan, v: PlannedValue): boolean {
  if (v.category !== "saved" || v.inputs.length === 0) return false;
  return v.inputs.every((j) => {
    const x = plan.values[j];
    return x.category === "weight" || x.saved;
  });
}

/**
 * The biggest recomputable saved values, added one at a time until the
 * estimated total fits `budgetBytes` (or candidates run out).
 */
export function recomputeAdvice(plan: Plan, budgetBytes: number): RecomputeAdvice {
  const candidates = plan.values.filter((v) => recomputable(plan, v))
    .sort((a, b) => b.bytes - a.bytes || a.index - b.index);
  const drop = new Set<number>();
  const estimate = () => {
    const arena = lowerBound(arenaIntervals(plan, drop)).bytes;
    return { arena, total: persistentBytes(plan) + arena };
  };
  let e = estimate();
  for (const c of candidates) {
    if (e.total <= budgetBytes) break;
    drop.add(c.index);
    e = estimate();
  }
  const values = candidates.filter((c) => drop.has(c.index))
    .map((v) => ({ index: v.index, name: v.name, op: v.op, bytes: v.bytes }));
  return {
    values,
    estimatedArenaBytes: e.arena,
    estimatedTotalBytes: e.total,
    fits: e.total <= budgetBytes,
  };
}

/**
 * The largest batch whose plan (built by `build(batch)`) fits `budgetBytes`
 * in total: a batch that fits while batch + 1 does not (or `maxBatch`). When
 * batch 1 does not fit, advises which saved values to recompute; throws a
 * {@linkcode BudgetError} when even that is not enough.
 */
export function planFor(
  build: (batch: number) => GradResult | Graph,
  options: BudgetOptions,
): BudgetPlan {
  const maxBatch = options.maxBatch ?? 4096;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`planFor: maxBatch must be a positive integer, got ${maxBatch}`);
  }
  const plans = new Map<number, Plan>();
  const planAt = (b: number) => {
    if (!plans.has(b)) plans.set(b, planGraph(build(b), options.target ?? CPU_TARGET, options));
    return plans.get(b)!;
  };
  const fits = (b: number) => planAt(b).totalBytes <= options.budgetBytes;
  if (!fits(1)) {
    const advice = recomputeAdvice(planAt(1), options.budgetBytes);
    if (advice.fits) return { batch: 1, plan: planAt(1), recompute: advice };
    throw new BudgetError(options.budgetBytes, planAt(1).totalBytes, advice);
  }
  let lo = 1, hi = 2;
  while (hi <= maxBatch && fits(hi)) [lo, hi] = [hi, hi * 2];
  if (hi > maxBatch) {
    if (fits(maxBatch)) return { batch: maxBatch, plan: planAt(maxBatch) };
    hi = maxBatch;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return { batch: lo, plan: planAt(lo) };
}
