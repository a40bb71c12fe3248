/**
 * One training step on the CPU reference runtime: forward and backward of a
 * `grad()` graph, then an optimizer step on the trainable parameters only.
 * @module
 */
import type { GradResult } from "../autodiff/mod.ts";
import { sourceName } from "../graph/mod.ts";
import { executeCpu } from "../runtime/cpu/mod.ts";
import type { ParamStore, TensorData } from "../runtime/data.ts";
import { type OptimizerState, optimizerStep } from "./optimizer.ts";

/** The result of {@linkcode trainStep}. */
export interface TrainStepResult {
  /** The loss before the update. */
  readonly loss: number;
  /** Parameters after the update (frozen ones are the same arrays as before). */
  readonly params: ParamStore;
  /** Optimizer state after the update. */
  readonly state: OptimizerState;
  /** Gradients by parameter name. */
  readonly grads: ReadonlyMap<string, Float32Array>;
}

/**
 * Runs `g.graph` on `inputs` and `params`, then updates the differentiated
 * parameters at rate `lr · lrFactor` (a schedule's factor of this step, default 1).
 */
export function trainStep(
  g: GradResult,
  params: ParamStore,
  inputs: Readonly<Record<string, TensorData>>,
  state: OptimizerState,
  lr: number,
  lrFactor = 1,
): TrainStepResult {
  const out = executeCpu(g.graph, { inputs, params });
  const grads = gradientsOf(g, out);
  const r = optimizerStep(state, params, grads, lr, lrFactor);
  return { loss: (out[0] as Float32Array)[0], params: r.params, state: r.state, grads };
}

/** The gradients by parameter name from the outputs of `g.graph` (they come last, in `g.grads` order). */
export function gradientsOf(
  g: GradResult,
  out: readonly TensorData[],
): Map<string, Float32Array> {
  const names = [...g.grads.keys()].map(sourceName);
  const first = out.length - names.length;
  return new Map(names.map((n, i) => [n, out[first + i] as Float32Array]));
}
