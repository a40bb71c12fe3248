/**
 * Schedule refinement: a local search over a finished order that moves a
 * large value's producer to the earliest step its operands allow, where
 * that lowers the peak. A greedy list scheduler runs the cheap chain of a
 * fork first; when the other branch's large value is made last, the
 * chain's end and the fork's value are live beside it (a projection
 * shortcut's input gradient computed after the main path's). Made as soon
 * as its operand is, the large value lets the operand die early.
 * @module
 */
import { isUpdate, type Tensor } from "../graph/mod.ts";

/** Moves whose value is below this share of the peak are not tried. */
const MIN_SHARE = 0.1;
/** Passes over the candidates at most. */
const MAX_ROUNDS = 3;

/** `order` with `order[from]` moved to index `to < from`. */
function moved(order: readonly Tensor[], from: number, to: number): Tensor[] {
  const out = order.slice(0, to);
  out.push(order[from], ...order.slice(to, from), ...order.slice(from + 1));
  return out;
}

/**
 * Returns `order` with producers moved earlier (each to right after its
 * last operand) while a move lowers `peak(order)`; tries the largest
 * values first (by `bytes`), never moves optimizer updates, keeps every
 * node after its operands. Deterministic.
 */
export function refineOrder(
  order: readonly Tensor[],
  peak: (order: readonly Tensor[]) => number,
  bytes: (n: Tensor) => number,
): Tensor[] {
  let best = [...order];
  let bestPeak = peak(best);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const candidates = best
      .filter((n) => !isUpdate(n) && n.inputs.length > 0 && bytes(n) >= MIN_SHARE * bestPeak)
      .sort((a, b) => bytes(b) - bytes(a));
    let improved = false;
    for (const n of candidates) {
      const pos = new Map<Tensor, number>();
      best.forEach((t, i) => pos.set(t, i));
      const from = pos.get(n)!;
      const to = Math.max(...n.inputs.map((x) => pos.get(x) ?? -1)) + 1;
      if (to >= from) continue;
      const next = moved(best, from, to);
      const p = peak(next);
      if (p < bestPeak) [best, bestPeak, improved] = [next, p, true];
    }
    if (!improved) break;
  }
  return best;
}
