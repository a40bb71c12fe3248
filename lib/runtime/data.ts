/**
 * Host-side tensor data and the device-neutral runtime interface.
 * @module
 */
import { byteSize, type DType, type Shape } from "../graph/mod.ts";
import type { Plan, PlanTarget } from "../plan/types.ts";
import type { QuantizedTensor } from "./quantized.ts";

/** The typed array that holds a value: f32 → Float32Array, i32 → Int32Array, u8 → Uint8Array, mask → Uint32Array. */
export type TensorData = Float32Array | Int32Array | Uint8Array | Uint32Array;

/** Parameter values by name. */
export type ParamStore = Map<string, Float32Array>;

/** A parameter's value: f32, or a frozen parameter stored at reduced precision. */
export type ParamValue = Float32Array | QuantizedTensor;

/** What a kernel reads: a value's typed array, or a reduced-precision parameter. */
export type KernelInput = TensorData | QuantizedTensor;

/** What an execution reads: named inputs and named parameters. */
export interface Feeds {
  /** Values of the graph's `input` nodes, by name. */
  readonly inputs: Readonly<Record<string, TensorData>>;
  /**
   * Values of the graph's `param` nodes, by name: a Float32Array for an f32
   * param, a {@linkcode QuantizedTensor} of the param's storage otherwise.
   */
  readonly params: ReadonlyMap<string, ParamValue>;
}

/**
 * A runtime executes plans: `planGraph(g, runtime.target)` decides every
 * value's bytes and the runtime runs the schedule at those offsets, so the
 * bytes a plan reports are the bytes that run.
 */
export interface Runtime {
  /** "cpu" or "webgpu". */
  readonly name: string;
  /** What its plans are made for (alignment, binding limit). */
  readonly target: PlanTarget;
  /** Allocates what `plan` needs (its arena, buffers, pipelines) ahead of its first execution. */
  prepare(plan: Plan): Promise<void>;
  /** Runs `plan` on `feeds` (preparing it first if needed); returns its outputs' values, in order. */
  execute(plan: Plan, feeds: Feeds): Promise<TensorData[]>;
  /** Frees what was prepared for `plan`. */
  release(plan: Plan): void;
  /**
   * The named parameters as this runtime holds them, after the optimizer
   * updates its plans ran, as new arrays (`params` gives those it holds
   * no copy of). A plan with updates writes its parameters in the
   * runtime's own storage; nothing else crosses back to the host.
   */
  readParams(names: Iterable<string>, params: ParamStore): Promise<ParamStore>;
}

/** Thrown when feeds are missing or do not fit the graph. */
export class FeedError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FeedError";
  }
}

/** Thrown when a plan cannot run on a runtime: made for another target, or inconsistent. */
export class PlanError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** A zeroed typed array for a value of this shape and dtype. */
export function allocate(shape: Shape, dtype: DType): TensorData {
  const bytes = byteSize(shape, dtype);
  switch (dtype) {
    case "f32":
      return new Float32Array(bytes / 4);
    case "i32":
      return new Int32Array(bytes / 4);
    case "u8":
      return new Uint8Array(bytes);
    case "mask":
      return new Uint32Array(bytes / 4);
  }
}

/** A typed-array view of `bytes` bytes at `offset` of `buffer`, for a value of `dtype`. */
export function viewOf(
  buffer: ArrayBuffer,
  offset: number,
  bytes: number,
  dtype: DType,
): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(buffer, offset, bytes / 4);
    case "i32":
      return new Int32Array(buffer, offset, bytes / 4);
    case "u8":
      return new Uint8Array(buffer, offset, bytes);
    case "mask":
      return new Uint32Array(buffer, offset, bytes / 4);
  }
}

/** The element type a typed array stores, as a da3 dtype-compatible name. */
export function arrayKind(a: TensorData): DType {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Uint8Array) return "u8";
  return "mask";
}
