/**
 * The CPU kernel contract.
 * @module
 */
import type { Tensor } from "../../../graph/mod.ts";
import type { TensorData } from "../../data.ts";

/** Computes a node's value from its inputs' values. Never mutates inputs. */
export type CpuKernel = (node: Tensor, inputs: readonly TensorData[]) => TensorData;

/** Reads an input as f32. */
export function f32(a: TensorData): Float32Array {
  return a as Float32Array;
}
