/**
 * Optimizer updates as ops of the training graph: SGD with momentum and
 * Adam, each writing its parameter and optimizer state in place. An update
 * node's value is its parameter after the update: it takes no bytes of its
 * own (the planner keeps it out of the arena), and its op overwrites the
 * parameter and state operands, which are persistent values (parameters
 * and optimizer-state parameters, never arena values). The per-step
 * scalars, the learning-rate factor of a schedule included, come from one
 * shared input, {@linkcode OPTIMIZER_STEP_INPUT}, so one plan serves every
 * step: step `t` applies `lr · factor` where `lr` is the node's attribute.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import { node, ShapeError, showShape, type Tensor } from "../tensor.ts";

/** SGD with momentum (PyTorch's form: `v = μv + g + λw`, `w −= lr·v`; `v = g + λw` at step 1). */
export interface SgdRule {
  /** "sgd". */
  readonly kind: "sgd";
  /** Momentum μ (default 0.9). */
  readonly momentum?: number;
  /** L2 weight decay λ added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** Adam (Kingma & Ba) with optional L2 weight decay added to the gradient. */
export interface AdamRule {
  /** "adam". */
  readonly kind: "adam";
  /** β₁ (default 0.9). */
  readonly beta1?: number;
  /** β₂ (default 0.999). */
  readonly beta2?: number;
  /** ε (default 1e-8). */
  readonly eps?: number;
  /** L2 weight decay λ added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** An update rule: the optimizer an update op applies. */
export type UpdateRule = SgdRule | AdamRule;

/**
 * The name of the input every update reads: f32 `[4]` holding the step
 * number `t` (1 for the first step), Adam's bias corrections `1 − β₁ᵗ`,
 * `1 − β₂ᵗ`, and the step's learning-rate factor (see
 * {@linkcode optimizerStepValues}).
 */
export const OPTIMIZER_STEP_INPUT = "optimizer.step";

/** The shared step input of the update ops. */
export function optimizerStepInput(): Tensor {
  return node("input", [], [4], { name: OPTIMIZER_STEP_INPUT });
}

/**
 * The value of {@linkcode OPTIMIZER_STEP_INPUT} at step `t` (1-based) of
 * `rule`, the learning rate scaled by `lrFactor` (default 1; stored as f32,
 * so the rate applied is `lr · Math.fround(lrFactor)`).
 */
export function optimizerStepValues(rule: UpdateRule, t: number, lrFactor = 1): Float32Array {
  if (rule.kind === "sgd") return Float32Array.of(t, 0, 0, lrFactor);
  return Float32Array.of(
    t,
    1 - (rule.beta1 ?? 0.9) ** t,
    1 - (rule.beta2 ?? 0.999) ** t,
    lrFactor,
  );
}

/** Optimizer-state slots per parameter: SGD's velocity, Adam's first and second moments. */
export function stateSlots(rule: UpdateRule): number {
  return rule.kind === "adam" ? 2 : 1;
}

/**
 * Optimizer-state slot `k` of parameter `p`: a persistent, zero-initialised
 * parameter named `<p>#<k>` that only update ops write.
 */
export function optimizerState(p: Tensor, k: number): Tensor {
  if (p.op !== "param") {
    throw new ShapeError("optimizerState", `needs a parameter, got ${p.op}`);
  }
  return node("param", [], p.shape, {
    name: `${p.attrs.name}#${k}`,
    trainable: false,
    init: "zeros",
    optimizerState: true,
  });
}

/** True for an optimizer-state parameter made by {@linkcode optimizerState}. */
export function isOptimizerState(t: Tensor): boolean {
  return t.op === "param" && t.attrs.optimizerState === true;
}

function checkOperands(op: string, p: Tensor, others: readonly [string, Tensor][]): void {
  if (p.op !== "param") throw new ShapeError(op, `param must be a parameter, got ${p.op}`);
  for (const [what, t] of others) {
    if (
      t.dtype !== "f32" || t.shape.length !== p.shape.length ||
      t.shape.some((d, i) => d !== p.shape[i])
    ) {
      throw new ShapeError(
        op,
        `${what} must be f32 ${showShape(p.shape)} like param "${p.attrs.name}", got ${t.dtype} ${
          showShape(t.shape)
        }`,
      );
    }
  }
}

function checkStep(op: string, step: Tensor): void {
  if (step.op !== "input" || step.shape.length !== 1 || step.shape[0] !== 4) {
    throw new ShapeError(op, `step must be the f32 [4] input "${OPTIMIZER_STEP_INPUT}"`);
  }
}

/** The state operands of an update node (after param and grad, before the step input). */
export function updateState(n: Tensor): readonly Tensor[] {
  return n.inputs.slice(2, n.inputs.length - 1);
}

/**
 * SGD with momentum on `param` from `grad`, learning rate `lr` times the
 * step input's factor: writes
 * `velocity` and `param` in place; the node's value is the updated parameter.
 */
export function sgdUpdate(
  param: Tensor,
  grad: Tensor,
  velocity: Tensor,
  step: Tensor,
  rule: SgdRule,
  lr: number,
): Tensor {
  checkOperands("sgdUpdate", param, [["grad", grad], ["velocity", velocity]]);
  checkStep("sgdUpdate", step);
  return node("sgdUpdate", [param, grad, velocity, step], param.shape, {
    lr,
    momentum: rule.momentum ?? 0.9,
    weightDecay: rule.weightDecay ?? 0,
  });
}

/**
 * Adam on `param` from `grad`, learning rate `lr` times the step input's
 * factor: writes the moments `m`,
 * `v` and `param` in place; the node's value is the updated parameter.
 */
export function adamUpdate(
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  step: Tensor,
  rule: AdamRule,
  lr: number,
): Tensor {
  checkOperands("adamUpdate", param, [["grad", grad], ["m", m], ["v", v]]);
  checkStep("adamUpdate", step);
  return node("adamUpdate", [param, grad, m, v, step], param.shape, {
    lr,
    beta1: rule.beta1 ?? 0.9,
    beta2: rule.beta2 ?? 0.999,
    eps: rule.eps ?? 1e-8,
    weightDecay: rule.weightDecay ?? 0,
  });
}

/** True for a node of an update op. */
export function isUpdate(t: Tensor): boolean {
  return t.op === "sgdUpdate" || t.op === "adamUpdate";
}

/** The records of the update ops: never differentiated, never in place of an arena value, never sliced. */
export const OPTIM_OPS = {
  sgdUpdate: {
    build: sgdUpdate,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
  adamUpdate: {
    build: adamUpdate,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
