/**
 * One training step of a model, planned the way da3 runs and reports it:
 * frozen conv and linear weights stored as `frozenWeights`, the gradient
 * of the classification loss with frozen batch norms folded into their
 * convolutions, the optimizer's in-place updates inside the plan. The
 * memory CLI, the examples and anyone comparing adaptors plan steps here,
 * so their figures agree.
 * @module
 */
import { grad, type GradResult, withOptimizer } from "../autodiff/mod.ts";
import { type ParamStorage, withFrozenStorage } from "../graph/mod.ts";
import { classificationLoss, type Model } from "../models/mod.ts";
import {
  CPU_TARGET,
  type OptimizerKind,
  type Plan,
  planGraph,
  type PlanTarget,
} from "../plan/mod.ts";

/** Options of {@linkcode planTrainingStep}. */
export interface TrainingStepOptions {
  /** The optimizer whose updates the plan runs, or `none` (default `adam`). */
  readonly optimizer?: OptimizerKind;
  /** Storage of the frozen conv and linear weights (default `u8`, the memory CLI's convention). */
  readonly frozenWeights?: ParamStorage;
  /** Fold frozen batch norms into their convolutions (default true). */
  readonly fuse?: boolean;
  /** The runtime the plan is for (default the CPU runtime's). */
  readonly target?: PlanTarget;
}

/** The gradient graph of `model`'s classification loss and the plan of one training step. */
export function planTrainingStep(
  model: Model,
  options: TrainingStepOptions = {},
): { readonly grad: GradResult; readonly plan: Plan } {
  const [loss] = withFrozenStorage([classificationLoss(model)], options.frozenWeights ?? "u8");
  const g = grad(loss, { fuseConvBn: options.fuse ?? true });
  const optimizer = options.optimizer ?? "adam";
  const target = options.target ?? CPU_TARGET;
  // The learning rate does not change the plan's bytes.
  const plan = optimizer === "none"
    ? planGraph(g, target)
    : planGraph(withOptimizer(g, { kind: optimizer }, 1e-3), target);
  return { grad: g, plan };
}
