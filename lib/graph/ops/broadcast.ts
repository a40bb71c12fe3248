/**
 * Element-wise `add` and `mul` with NumPy broadcasting (right-aligned), and
 * the two shape-changing ops their backward uses: `sumTo` and `broadcastTo`.
 * @module
 */
import { EITHER_IN_PLACE, FIRST_IN_PLACE, NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { node, type Shape, ShapeError, showShape, type Tensor } from "../tensor.ts";

/** The broadcast shape of `a` and `b`, or a ShapeError naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        op,
        `operands do not broadcast: a ${showShape(a)} vs b ${showShape(b)}`,
      );
    }
    out.push(Math.max(da, db));
  }
  return out;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `a + b`, broadcasting over any axes of size 1 (e.g. a `[1,C,1,1]` bias). */
export function add(a: Tensor, b: Tensor): Tensor {
  return node("add", [a, b], broadcastShapes("add", a.shape, b.shape));
}

/** `a ⊙ b`, broadcasting like {@linkcode add}. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return node("mul", [a, b], broadcastShapes("mul", a.shape, b.shape));
}

/** Sums `x` over broadcast axes so that it has `shape`; identity when equal. */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  if (!sameShape(broadcastShapes("sumTo", x.shape, shape), x.shape)) {
    throw new ShapeError("sumTo", `cannot reduce ${showShape(x.shape)} to ${showShape(shape)}`);
  }
  return node("sumTo", [x], shape);
}

/** Repeats `x` along broadcast axes to `shape`, multiplying by `scale`. */
export function broadcastTo(x: Tensor, shape: Shape, scale = 1): Tensor {
  if (!sameShape(broadcastShapes("broadcastTo", x.shape, shape), shape)) {
    throw new ShapeError(
      "broadcastTo",
      `cannot broadcast ${showShape(x.shape)} to ${showShape(shape)}`,
    );
  }
  return node("broadcastTo", [x], shape, { scale });
}

/** add: both gradients are the output gradient reduced to each shape. */
export const addBackward: BackwardRule = (n, dy, needs) => [
  needs[0] ? sumTo(dy, n.inputs[0].shape) : undefined,
  needs[1] ? sumTo(dy, n.inputs[1].shape) : undefined,
];

/** mul: each gradient reads the other operand. */
export const mulBackward: BackwardRule = (n, dy, needs) => {
  const [a, b] = n.inputs;
  return [
    needs[0] ? sumTo(mul(dy, b), a.shape) : undefined,
    needs[1] ? sumTo(mul(dy, a), b.shape) : undefined,
  ];
};

/** sumTo: the gradient is broadcast back. */
export const sumToBackward: BackwardRule = (n, dy) => [broadcastTo(dy, n.inputs[0].shape)];

/** broadcastTo: the gradient is summed back, scaled. */
export const broadcastToBackward: BackwardRule = (n, dy) => {
  const s = n.attrs.scale as number;
  const g = sumTo(dy, n.inputs[0].shape);
  return [s === 1 ? g : scale(g, s)];
};

/** `x * s` for a constant `s`. */
export function scale(x: Tensor, s: number): Tensor {
  return node("scale", [x], x.shape, { scale: s });
}

/** scale: the gradient is scaled by the same constant. */
export const scaleBackward: BackwardRule = (n, dy) => [scale(dy, n.attrs.scale as number)];

/** The records of the broadcasting element-wise ops and their shape-changing helpers. */
export const BROADCAST_OPS = {
  add: {
    build: add,
    backward: addBackward,
    flops: null,
    inPlace: EITHER_IN_PLACE,
    perSample: true,
  },
  mul: {
    build: mul,
    backward: mulBackward,
    flops: null,
    inPlace: EITHER_IN_PLACE,
    perSample: true,
  },
  scale: {
    build: scale,
    backward: scaleBackward,
    flops: null,
    inPlace: FIRST_IN_PLACE,
    perSample: true,
  },
  sumTo: {
    build: sumTo,
    backward: sumToBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    // Per sample only while the batch axis is kept.
    perSample: (n) => n.inputs[0].shape[0] === n.shape[0],
  },
  broadcastTo: {
    build: broadcastTo,
    backward: broadcastToBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
