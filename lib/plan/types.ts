/**
 * The execution plan as plain data. The contract: a planned arena value is
 * written at step `firstWrite` into `[offset, offset + bytes)` of one arena
 * and read no later than step `lastRead`; after `lastRead` its bytes belong to
 * whoever is placed there next. Two arena values whose `[firstWrite, lastRead]`
 * intersect never overlap, except a value computed in place of an input
 * (`inPlaceOf`), which takes over that input's bytes at the step where the
 * input is read for the last time.
 * @module
 */
import type { DType, Shape, Tensor } from "../graph/mod.ts";

/**
 * What a value is, for accounting. `weight`s (every parameter, frozen or
 * not), optimizer `state` (parameters only update ops write) and
 * `gradient`s (trainable parameters' gradients that are graph outputs) are
 * persistent and live outside the arena; an `update` (an optimizer update's
 * value: its parameter, written in place) takes no bytes of its own;
 * everything else is in the arena: fed `input`s, graph `output`s other than
 * gradients (they live to the end), `saved` forward values that backward
 * reads, and `transient` values (among them the gradients an update reads).
 */
export type ValueCategory =
  | "weight"
  | "state"
  | "gradient"
  | "update"
  | "input"
  | "output"
  | "saved"
  | "transient";

/** True for the categories a runtime holds as parameters (fed by name, outside the arena). */
export function isParamCategory(c: ValueCategory): boolean {
  return c === "weight" || c === "state";
}

/** Optimizer state kept per trainable parameter: none, SGD momentum (1×), Adam (2×). */
export type OptimizerKind = "none" | "sgd" | "adam";

/** Optimizer state bytes per trainable byte. */
export const OPTIMIZER_STATE_FACTOR: Readonly<Record<OptimizerKind, number>> = {
  none: 0,
  sgd: 1,
  adam: 2,
};

/** One value of a planned graph. Indices refer to `Plan.values`. */
export interface PlannedValue {
  /** Index of this value in `Plan.values` (and of its node in `Plan.tensors`). */
  readonly index: number;
  /** The input or parameter name, `grad(<param>)` for a gradient, else `%<index>`. */
  readonly name: string;
  /** The op that produces it. */
  readonly op: string;
  /** Its shape. */
  readonly shape: Shape;
  /** Its element type. */
  readonly dtype: DType;
  /** Its size in bytes (a parameter's: those of its storage, see `storedBytes`). */
  readonly bytes: number;
  /** What it is, for accounting. */
  readonly category: ValueCategory;
  /** `backward` for values that depend on the loss gradient, else `forward`. */
  readonly phase: "forward" | "backward";
  /** True when backward reads this forward value (the autodiff saved set). */
  readonly saved: boolean;
  /** The values its op reads, in argument order. */
  readonly inputs: readonly number[];
  /** The schedule step that computes it; -1 for weights (never computed). */
  readonly step: number;
  /** First step at which its bytes are in use (its own step). */
  readonly firstWrite: number;
  /** Last step that reads it; the last step of the schedule for outputs. */
  readonly lastRead: number;
  /** Byte offset in the arena, or null for values outside it (weights, state, gradients, updates). */
  readonly offset: number | null;
  /** The input value whose bytes this value takes over (computed in place). */
  readonly inPlaceOf?: number;
}

/**
 * What a plan is made for: the device facts that decide offsets and how
 * values bind. Runtimes expose theirs as `runtime.target`.
 */
export interface PlanTarget {
  /** Arena offset alignment in bytes (a positive integer; typed-array views need a multiple of 4). */
  readonly alignment: number;
  /** The largest byte range one kernel binding may span (`Infinity` on the CPU). */
  readonly maxBindingBytes: number;
}

/**
 * The CPU runtime's target, also the default of `planGraph`: 256-byte
 * offsets (WebGPU's default `minStorageBufferOffsetAlignment`, so CPU and
 * WebGPU plans, and the bytes they report, agree) and no binding limit.
 */
export const CPU_TARGET: PlanTarget = { alignment: 256, maxBindingBytes: Infinity };

/** A scheduled, lifetime-annotated, arena-assigned graph. */
export interface Plan {
  /** The graph's nodes; `tensors[i]` is the node of `values[i]`. */
  readonly tensors: readonly Tensor[];
  /** Every value of the graph, in the graph's topological order. */
  readonly values: readonly PlannedValue[];
  /** The value computed at each step (weights are not steps). */
  readonly schedule: readonly number[];
  /** The graph outputs, in order (loss, kept values, gradients). */
  readonly outputs: readonly number[];
  /** The target the plan was made for. */
  readonly target: PlanTarget;
  /** Arena offset alignment in bytes (`target.alignment`). */
  readonly alignment: number;
  /** The arena size: the end of the highest placed value, rounded up to 4 bytes. */
  readonly arenaBytes: number;
  /** The most arena bytes live at any one step of this schedule. */
  readonly lowerBoundBytes: number;
  /** The step where `lowerBoundBytes` is reached. */
  readonly peakStep: number;
  /** The assignment ordering that gave the smallest arena. */
  readonly ordering: string;
  /** Optimizer the persistent accounting assumes. */
  readonly optimizer: OptimizerKind;
  /** Bytes of every parameter, frozen or trainable. */
  readonly weightBytes: number;
  /** Bytes of the differentiated (trainable) parameters. */
  readonly trainableBytes: number;
  /**
   * Bytes of their persistent gradients (one buffer per trainable parameter
   * whose gradient is a graph output; 0 when updates consume them in the arena).
   */
  readonly gradientBytes: number;
  /**
   * Optimizer state bytes: the state parameters' bytes in a graph with
   * updates, else the optimizer's factor × trainable bytes.
   */
  readonly optimizerBytes: number;
  /** Bytes of the forward values backward reads (the saved set). */
  readonly savedActivationBytes: number;
  /** `weightBytes + gradientBytes + optimizerBytes + arenaBytes`. */
  readonly totalBytes: number;
}

/** A lifetime interval with a size: the input of arena assignment. */
export interface Interval {
  /** Bytes to place. */
  readonly size: number;
  /** First step (inclusive) the bytes are in use. */
  readonly first: number;
  /** Last step (inclusive) the bytes are in use. */
  readonly last: number;
}

/** True when two intervals share at least one step. */
export function intersects(a: Interval, b: Interval): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** `n` rounded up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
