/**
 * Learning-rate schedules: a linear warm-up over the first steps, then a
 * constant rate or a cosine decay over the remaining steps of the run.
 * @module
 */

/** A learning-rate schedule over a run's optimizer steps. */
export interface LrSchedule {
  /** `constant` after warm-up, or `cosine`: half a cosine from the full rate towards 0 at the end. */
  readonly kind: "constant" | "cosine";
  /** Steps of linear warm-up from `lr / warmup` to `lr` (0: none). */
  readonly warmup: number;
}

/** The constant schedule without warm-up (the rate every step). */
export const CONSTANT_LR: LrSchedule = { kind: "constant", warmup: 0 };

/**
 * The multiplier of the base learning rate at step `step` (0-based) of a run
 * of `total` steps: `(step + 1) / warmup` during warm-up, then 1 (constant)
 * or `½(1 + cos(π·(step − warmup)/(total − warmup)))` (cosine). Always in (0, 1].
 */
export function lrFactor(schedule: LrSchedule, step: number, total: number): number {
  const w = Math.min(schedule.warmup, Math.max(total - 1, 0));
  if (step < w) return (step + 1) / w;
  if (schedule.kind === "constant") return 1;
  const span = Math.max(total - w, 1);
  const progress = Math.min(Math.max(step - w, 0), span - 1) / span;
  return 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * The schedule as stored in a run record: its kind and warm-up, and the
 * run's `steps` when the factors depend on them (cosine, or a warm-up that
 * reaches the last step), so that a resume with another length, which would
 * change the rate of the steps to come, is refused by field.
 */
export function scheduleRecord(
  schedule: LrSchedule,
  steps: number,
): { kind: LrSchedule["kind"]; warmup: number; steps?: number } {
  const { kind, warmup } = schedule;
  return kind === "cosine" || warmup >= steps ? { kind, warmup, steps } : { kind, warmup };
}
