/**
 * The CPU kernel contract: a kernel writes a node's value into an output
 * view it is handed (an arena view at the planned offset, or an array of its
 * own) and allocates no output.
 * @module
 */
import type { Tensor } from "../../../graph/mod.ts";
import type { KernelInput, TensorData } from "../../data.ts";
import { isQuantizedTensor } from "../../quantized.ts";

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
export type CpuKernel = (node: Tensor, inputs: readonly KernelInput[], out: TensorData) => void;

/**
 * Reads a value as f32. A reduced-precision parameter reaches only the
 * kernels that dequantise it (see `QUANTIZED_READS`); anywhere else it is
 * a plan the runtimes refuse before running, so this throws.
 */
export function f32(a: KernelInput): Float32Array {
  return plain(a) as Float32Array;
}

/** Reads a value as a typed array (throws for a reduced-precision parameter, like {@linkcode f32}). */
export function plain(a: KernelInput): TensorData {
  if (isQuantizedTensor(a)) {
    throw new TypeError(`cpu: a ${a.storage} parameter reached a kernel that reads f32`);
  }
  return a;
}
