/**
 * The optimizer as part of the training graph: {@linkcode withOptimizer}
 * appends one update op per trainable parameter to a `grad()` result, so
 * that a plan applies each update on the device, right after its gradient
 * is final, and the gradient is an arena value that dies at its update.
 * @module
 */
import {
  adamUpdate,
  graph,
  optimizerState,
  optimizerStepInput,
  sgdUpdate,
  sourceName,
  type Tensor,
  type UpdateRule,
} from "../graph/mod.ts";
import type { GradResult } from "./grad.ts";

/** A `grad()` result whose graph ends in the optimizer's updates instead of the gradients. */
export interface OptimizedGrad extends GradResult {
  /** The rule every update applies. */
  readonly rule: UpdateRule;
  /** The update node of each trainable parameter (its value: the parameter after the step). */
  readonly updates: ReadonlyMap<Tensor, Tensor>;
}

/** True when `g` carries optimizer updates ({@linkcode withOptimizer}'s result). */
export function isOptimizedGrad(g: GradResult): g is OptimizedGrad {
  return "updates" in g;
}

/**
 * `g` with one update per trainable parameter (`rule`, learning rate `lr`
 * or `lr(name)`), each reading the parameter's gradient, its optimizer
 * state (parameters `<name>#0`, `<name>#1`) and the shared step input. The
 * graph's outputs become `[loss, ...kept values, ...updates]`: gradients
 * are no longer outputs.
 */
export function withOptimizer(
  g: GradResult,
  rule: UpdateRule,
  lr: number | ((name: string) => number),
): OptimizedGrad {
  const step = optimizerStepInput();
  const rate = (p: Tensor) => (typeof lr === "number" ? lr : lr(sourceName(p)));
  const updates = new Map<Tensor, Tensor>();
  for (const [p, d] of g.grads) {
    const u = rule.kind === "sgd"
      ? sgdUpdate(p, d, optimizerState(p, 0), step, rule, rate(p))
      : adamUpdate(p, d, optimizerState(p, 0), optimizerState(p, 1), step, rule, rate(p));
    updates.set(p, u);
  }
  const kept = g.graph.outputs.slice(0, g.graph.outputs.length - g.grads.size);
  return {
    ...g,
    graph: graph(...kept, ...updates.values()),
    backward: new Set([...g.backward, ...updates.values()]),
    rule,
    updates,
  };
}
