/**
 * Reshape and flatten: the same elements in row-major order, a new shape.
 * @module
 */
import { FIRST_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, numel, type Shape, ShapeError, showShape, type Tensor } from "../tensor.ts";

/** `x` with a new shape of the same size; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const n = numel(x.shape);
  const known = shape.filter((d) => d !== -1);
  const holes = shape.length - known.length;
  const rest = numel(known);
  const out = shape.map((d) => (d === -1 ? n / rest : d));
  if (holes > 1 || !out.every((d) => Number.isInteger(d) && d > 0) || numel(out) !== n) {
    throw new ShapeError(
      "reshape",
      `cannot reshape x ${showShape(x.shape)} (${n} elements) to ${showShape(shape)}`,
    );
  }
  return node("reshape", [x], out);
}

/** `[N, ...]` → `[N, rest]`. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.shape[0], -1]);
}

/** reshape: the gradient is reshaped back. */
export const reshapeBackward: BackwardRule = (n, dy) => [reshape(dy, n.inputs[0].shape)];

/** The record of reshape (a copy; in place it is free). */
export const RESHAPE_OPS = {
  reshape: {
    build: reshape,
    backward: reshapeBackward,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    // Per sample only while the batch axis is kept.
    perSample: (n) => n.inputs[0].shape[0] === n.shape[0],
  },
} satisfies OpTable;
