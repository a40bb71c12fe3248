/**
 * Zero padding of the two spatial axes of `[N,C,H,W]` values, each side
 * given separately (Keras `ZeroPadding2D`, e.g. bottom/right only before a
 * stride-2 'valid' conv, which is TF 'same'), and its backward, the crop.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, type Shape, ShapeError, type Tensor } from "../tensor.ts";

/** Rows and columns added: `[top, bottom, left, right]`. */
export type Pads = readonly [number, number, number, number];

function readPads(n: Tensor): Pads {
  return n.attrs.pads as unknown as Pads;
}

/** `x` `[N,C,H,W]` with `top`/`bottom` zero rows and `left`/`right` zero columns added. */
export function zeroPad2d(x: Tensor, pads: Pads): Tensor {
  checkRank("zeroPad2d", "x", x, 4);
  if (pads.length !== 4 || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new ShapeError(
      "zeroPad2d",
      `pads must be 4 non-negative integers, got ${JSON.stringify(pads)}`,
    );
  }
  const [n, c, h, w] = x.shape;
  const [t, b, l, r] = pads;
  return node("zeroPad2d", [x], [n, c, h + t + b, w + l + r], { pads: [...pads] });
}

/** The window of `dy` (a padded value's gradient) that the unpadded `xShape` occupies. */
export function crop2d(dy: Tensor, pads: Pads, xShape: Shape): Tensor {
  return node("crop2d", [dy], xShape, { pads: [...pads] });
}

/** zeroPad2d: the input gradient is the crop of the output gradient; nothing is kept. */
export const zeroPad2dBackward: BackwardRule = (n, dy) => [
  crop2d(dy, readPads(n), n.inputs[0].shape),
];

/** The records of zero padding and its crop. */
export const PAD_OPS = {
  zeroPad2d: {
    build: zeroPad2d,
    backward: zeroPad2dBackward,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  crop2d: {
    build: crop2d,
    backward: null,
    flops: null,
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
} satisfies OpTable;
