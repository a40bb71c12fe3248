/**
 * Average and max pooling over `[N,C,H,W]`, and their backward ops. Average
 * pooling counts padded zeros (PyTorch's default); max pooling's backward
 * keeps the argmax position inside each window as one byte.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, type Shape, ShapeError, showShape, type Tensor } from "../tensor.ts";
import { type Pair, pair, windowOut } from "./conv2d.ts";

/** Options of the pooling ops. */
export interface PoolOptions {
  /** Window size. */
  readonly kernel: Pair;
  /** Step (default: the window size). */
  readonly stride?: Pair;
  /** Padding on each side (default 0). */
  readonly padding?: Pair;
}

/** Pool attributes as stored on nodes. */
export interface PoolAttrs {
  /** `[kh, kw]`. */
  readonly kernel: readonly [number, number];
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** `[ph, pw]`. */
  readonly padding: readonly [number, number];
}

function poolAttrs(op: string, x: Tensor, o: PoolOptions): { attrs: PoolAttrs; shape: Shape } {
  checkRank(op, "x", x, 4);
  const attrs: PoolAttrs = {
    kernel: pair(o.kernel),
    stride: pair(o.stride ?? o.kernel),
    padding: pair(o.padding ?? 0),
  };
  const [n, c, h, w] = x.shape;
  const ho = windowOut(h, attrs.kernel[0], attrs.stride[0], attrs.padding[0]);
  const wo = windowOut(w, attrs.kernel[1], attrs.stride[1], attrs.padding[1]);
  const ok = [...attrs.kernel, ...attrs.stride].every((v) => Number.isInteger(v) && v >= 1) &&
    attrs.padding.every((p, i) => p >= 0 && 2 * p <= attrs.kernel[i]) &&
    attrs.kernel[0] * attrs.kernel[1] <= 256;
  if (!ok || ho < 1 || wo < 1) {
    throw new ShapeError(
      op,
      `window ${JSON.stringify(attrs)} does not fit x ${showShape(x.shape)}`,
    );
  }
  return { attrs, shape: [n, c, ho, wo] };
}

/** Average over each window. */
export function avgPool2d(x: Tensor, options: PoolOptions): Tensor {
  const { attrs, shape } = poolAttrs("avgPool2d", x, options);
  return node("avgPool2d", [x], shape, { ...attrs });
}

/** Maximum over each window (padding never wins). */
export function maxPool2d(x: Tensor, options: PoolOptions): Tensor {
  const { attrs, shape } = poolAttrs("maxPool2d", x, options);
  return node("maxPool2d", [x], shape, { ...attrs });
}

/** avgPool2d: the gradient spreads evenly; nothing is kept. */
export const avgPool2dBackward: BackwardRule = (n, dy) => [
  avgPool2dGrad(dy, n.inputs[0].shape, n.attrs as unknown as PoolAttrs),
];

/** The input gradient of an average pool: `dy` spread evenly over each window. */
export function avgPool2dGrad(dy: Tensor, xShape: Shape, attrs: PoolAttrs): Tensor {
  return node("avgPool2dGrad", [dy], xShape, { ...attrs });
}

/** The argmax position inside each window of a max pool of `x`, one byte each. */
export function maxPool2dIndices(x: Tensor, yShape: Shape, attrs: PoolAttrs): Tensor {
  return node("maxPool2dIndices", [x], yShape, { ...attrs }, "u8");
}

/** The input gradient of a max pool: each `dy` goes to its window's argmax. */
export function maxPool2dGrad(
  dy: Tensor,
  indices: Tensor,
  xShape: Shape,
  attrs: PoolAttrs,
): Tensor {
  return node("maxPool2dGrad", [dy, indices], xShape, { ...attrs });
}

/** maxPool2d: backward keeps only the argmax index inside each window (u8). */
export const maxPool2dBackward: BackwardRule = (n, dy) => {
  const x = n.inputs[0];
  const attrs = n.attrs as unknown as PoolAttrs;
  return [maxPool2dGrad(dy, maxPool2dIndices(x, n.shape, attrs), x.shape, attrs)];
};

/** The records of the pools and their backward ops (all per sample). */
export const POOL_OPS = {
  avgPool2d: {
    build: avgPool2d,
    backward: avgPool2dBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  avgPool2dGrad: {
    build: avgPool2dGrad,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  maxPool2d: {
    build: maxPool2d,
    backward: maxPool2dBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  maxPool2dIndices: {
    build: maxPool2dIndices,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  maxPool2dGrad: {
    build: maxPool2dGrad,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
