/**
 * The node type of da3 graphs: an immutable tensor value with an inferred
 * shape, the op that produces it and that op's inputs and attributes.
 * @module
 */
import type { OpName } from "./op_names.ts";

/** A tensor shape: dimension sizes, outermost first (NCHW for images). */
export type Shape = readonly number[];

/**
 * Element types. `f32` is the only type user ops produce; `i32` holds class
 * labels, `u8` max-pool window indices, and `mask` a 1-bit-per-element packed
 * mask (32 elements per `u32` word) saved by ReLU for its backward pass.
 */
export type DType = "f32" | "i32" | "u8" | "mask";

/** Attribute values an op may carry: plain, JSON-serializable data. */
export type Attr = number | string | boolean | null | readonly Attr[] | {
  readonly [k: string]: Attr;
};

/** The attributes of one node. */
export type Attrs = Readonly<Record<string, Attr>>;

/**
 * One value of a graph. Nodes are immutable and compared by identity; a
 * graph is the set of nodes reachable from its outputs.
 */
export interface Tensor {
  /** The op that produces this value (a key of `OPS`). */
  readonly op: OpName;
  /** The values this op reads, in argument order. */
  readonly inputs: readonly Tensor[];
  /** The inferred shape. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
  /** Op attributes (stride, padding, parameter name, ...). */
  readonly attrs: Attrs;
}

/** Thrown when an op is called with operands whose shapes do not fit. */
export class ShapeError extends Error {
  /** The op whose shape rule failed. */
  readonly op: string;
  /** Creates the error; the message names the op and its operands' shapes. */
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = "ShapeError";
    this.op = op;
  }
}

/** Creates a node. Shapes are copied and frozen so graphs stay values. */
export function node(
  op: OpName,
  inputs: readonly Tensor[],
  shape: Shape,
  attrs: Attrs = {},
  dtype: DType = "f32",
): Tensor {
  return Object.freeze({
    op,
    inputs: Object.freeze([...inputs]),
    shape: Object.freeze([...shape]),
    dtype,
    attrs: Object.freeze({ ...attrs }),
  });
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a value of this shape and dtype occupies; masks pack 32 elements per u32. */
export function byteSize(shape: Shape, dtype: DType): number {
  const n = numel(shape);
  switch (dtype) {
    case "f32":
    case "i32":
      return 4 * n;
    case "u8":
      return n;
    case "mask":
      return 4 * Math.ceil(n / 32);
  }
}

/** Renders a shape as `[8,64,56,56]`. */
export function showShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/** Throws a ShapeError unless every dimension is a positive integer. */
export function checkShape(op: string, arg: string, shape: Shape): void {
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(
      op,
      `${arg} must have positive integer dimensions, got ${showShape(shape)}`,
    );
  }
}

/** Throws a ShapeError unless `t` has the given rank. */
export function checkRank(op: string, arg: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) {
    throw new ShapeError(
      op,
      `${arg} must have rank ${rank}, got shape ${showShape(t.shape)}`,
    );
  }
}
