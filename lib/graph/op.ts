/**
 * The op record: every graph-level fact about one op in one typed value.
 * Each family file under `ops/` exports the records of its ops; `OPS`
 * (`ops/mod.ts`) gathers them. Runtime facts (CPU kernels, WGSL lowerings)
 * live in the runtimes' own tables, keyed by the same {@linkcode OpName}.
 * @module
 */
import type { OpName } from "./op_names.ts";
import type { BackwardRule } from "./rule.ts";
import type { Tensor } from "./tensor.ts";

/** Everything da3's graph layer, autodiff and planner know about one op. */
export interface OpDef {
  /**
   * The builder that makes this op's nodes: it checks the operands' shapes
   * and infers the output's (the op's shape rule).
   */
  readonly build: (...args: never[]) => Tensor;
  /**
   * The gradient rule, or null for an op that is never differentiated
   * (sources, backward ops). It is also the op's saved-value rule: whatever
   * forward value the graph it builds reads is what backward keeps alive, so
   * a rule that keeps a compact summary (ReLU's 1-bit mask) builds the
   * summary from the forward value and reads only that.
   */
  readonly backward: BackwardRule | null;
  /**
   * Forward values of this op that backward reads count as saved
   * activations (default true); false for values that live regardless of
   * training (parameters, constants).
   */
  readonly saved?: boolean;
  /**
   * FLOPs of one node (2 per multiply-add), or null for ops that are not
   * counted (element-wise ops, reductions, pooling).
   */
  readonly flops: ((n: Tensor) => number) | null;
  /**
   * Argument positions whose bytes the output may take when the node reads
   * that argument for the last time (the planner also checks dtype and byte
   * size). Only element-wise ops whose output element i reads input element
   * i qualify.
   */
  readonly inPlace: readonly number[] | ((n: Tensor) => readonly number[]);
  /**
   * True when output sample i reads nothing but sample i of the node's
   * batched inputs, so the node can run in batch slices; false for ops that
   * reduce over the batch.
   */
  readonly perSample: boolean | ((n: Tensor) => boolean);
}

/** The records of one op family: a subset of the op names, each with its record. */
export type OpTable = { readonly [K in OpName]?: OpDef };

/** No argument can be overwritten. */
export const NOT_IN_PLACE: readonly number[] = [];
/** The output may take its first argument's bytes. */
export const FIRST_IN_PLACE: readonly number[] = [0];
/** The output may take either argument's bytes. */
export const EITHER_IN_PLACE: readonly number[] = [0, 1];
