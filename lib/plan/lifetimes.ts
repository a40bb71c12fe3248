/**
 * Lifetimes: for a schedule, each computed value's `[firstWrite, lastRead]`.
 * @module
 */
import type { Tensor } from "../graph/mod.ts";

/** The steps at which a value is written and last read. */
export interface Lifetime {
  /** The step that computes it (its first write). */
  readonly firstWrite: number;
  /** The last step that reads it; the last step of the schedule for kept values. */
  readonly lastRead: number;
}

/**
 * Lifetimes of every node in `order`: written at its own step, alive until
 * its last reader's step, or to the end for `keep` (graph outputs). A value
 * nobody reads dies at its own step.
 */
export function lifetimes(
  order: readonly Tensor[],
  keep: ReadonlySet<Tensor>,
): Map<Tensor, Lifetime> {
  const end = order.length - 1;
  const step = new Map<Tensor, number>();
  order.forEach((n, s) => step.set(n, s));
  const last = new Map<Tensor, number>();
  order.forEach((n, s) => {
    last.set(n, keep.has(n) ? end : Math.max(last.get(n) ?? s, s));
    for (const x of n.inputs) {
      if (step.has(x)) last.set(x, Math.max(last.get(x) ?? 0, s));
    }
  });
  const out = new Map<Tensor, Lifetime>();
  for (const [n, s] of step) out.set(n, { firstWrite: s, lastRead: last.get(n)! });
  return out;
}
