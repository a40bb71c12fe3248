/**
 * The CPU kernel contract: a kernel writes a node's value into an output
 * view it is handed (an arena view at the planned offset, or an array of its
 * own) and allocates no output.
 * @module
 */
import type { Tensor } from "../../../graph/mod.ts";
import type { TensorData } from "../../data.ts";

/**
 * Writes the value of `node` computed from `inputs` into `out`, a view of
 * the node's shape and dtype whose prior contents are arbitrary: every
 * element of `out` is written. `out` may be the very bytes of an input the
 * planner lets the node compute in place (`inPlaceOf`), so element `i` is
 * written only after element `i` of that input is read; no other input is
 * mutated, except by the optimizer updates (`sgdUpdate`, `adamUpdate`),
 * whose `out` is their parameter operand and which overwrite their state
 * operands as well.
 */
export type CpuKernel = (node: Tensor, inputs: readonly TensorData[], out: TensorData) => void;

/** Reads a value as f32. */
export function f32(a: TensorData): Float32Array {
  return a as Float32Array;
}
