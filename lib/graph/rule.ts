/**
 * The differentiation contract each op registers beside its shape rule.
 * @module
 */
import type { Tensor } from "./tensor.ts";

/**
 * Builds, with graph ops, the gradient of every input of `node` that needs
 * one, given the gradient `dy` of its output. Entries for inputs whose
 * `needs[i]` is false must be `undefined`: no work is generated for them.
 *
 * Whatever forward value the returned graph reads is, by construction, what
 * backward keeps alive (the saved set). Ops that compute a compact summary
 * for backward (ReLU's 1-bit mask) create that summary from the forward value
 * so only the summary is read by backward nodes.
 */
export type BackwardRule = (
  node: Tensor,
  dy: Tensor,
  needs: readonly boolean[],
) => readonly (Tensor | undefined)[];
