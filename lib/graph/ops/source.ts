/**
 * Graph sources: named inputs, named parameters and constants.
 * @module
 */
import { GraphError } from "../graph.ts";
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import { type Attr, checkShape, type DType, node, type Shape, type Tensor } from "../tensor.ts";

/** How a parameter is initialised when no stored value is given. */
export type Init =
  | "zeros"
  | "ones"
  | "he"
  | "xavier"
  | { readonly normal: number }
  | { readonly uniform: readonly [number, number] }
  | { readonly constant: number };

/**
 * How a parameter's values are stored: `f32`, or, for a frozen parameter,
 * `f16` (IEEE half) or `u8` (affine 8-bit, `min + scale·q`, with one
 * `min`/`scale` pair per tensor or per output channel). Kernels that read
 * such a parameter dequantise it on the fly.
 */
export type ParamStorage = "f32" | "f16" | "u8";

/** Every {@linkcode ParamStorage}, for flags and schemas (`--frozen-weights`). */
export const PARAM_STORAGES = ["f32", "f16", "u8"] as const satisfies readonly ParamStorage[];

/** Granularity of a `u8` parameter's scales: one pair per tensor, or per output channel (axis 0). */
export type ScaleGranularity = "tensor" | "channel";

/** Options of {@linkcode param}. */
export interface ParamOptions {
  /** Whether the optimizer updates this parameter (default true). */
  readonly trainable?: boolean;
  /** Initialisation (default "he" for rank ≥ 2, "zeros" otherwise). */
  readonly init?: Init;
  /** How the values are stored (default "f32"; "f16" and "u8" only for frozen parameters). */
  readonly storage?: ParamStorage;
  /** Scale granularity of a "u8" parameter (default "channel"). */
  readonly scales?: ScaleGranularity;
}

/** A named graph input (an image batch, labels) fed at execution time. */
export function input(name: string, shape: Shape, dtype: DType = "f32"): Tensor {
  checkShape("input", name, shape);
  return node("input", [], shape, { name }, dtype);
}

/** A named parameter; frozen parameters (`trainable: false`) get no gradient. */
export function param(name: string, shape: Shape, options: ParamOptions = {}): Tensor {
  checkShape("param", name, shape);
  const init = options.init ?? (shape.length >= 2 ? "he" : "zeros");
  const trainable = options.trainable ?? true;
  const storage = options.storage ?? "f32";
  if (storage !== "f32" && trainable) {
    throw new GraphError(`param "${name}": ${storage} storage needs trainable: false`);
  }
  const attrs: Record<string, Attr> = { name, trainable, init: init as Attr };
  if (storage !== "f32") attrs.storage = storage;
  if (storage === "u8") attrs.scales = options.scales ?? "channel";
  return node("param", [], shape, attrs);
}

/** A tensor of the given shape with every element equal to `value`. */
export function fill(shape: Shape, value: number): Tensor {
  if (shape.length > 0) checkShape("fill", "shape", shape);
  return node("fill", [], shape, { value });
}

/** True for a parameter node the optimizer updates. */
export function isTrainable(t: Tensor): boolean {
  return t.op === "param" && t.attrs.trainable === true;
}

/** The name of an input or parameter node. */
export function sourceName(t: Tensor): string {
  return String(t.attrs.name);
}

/** The records of the source ops: fed or constant values, never differentiated. */
export const SOURCE_OPS = {
  input: {
    build: input,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
  param: {
    build: param,
    backward: null,
    saved: false,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
  fill: {
    build: fill,
    backward: null,
    saved: false,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
