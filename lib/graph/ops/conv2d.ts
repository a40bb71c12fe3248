/**
 * 2-D convolution (NCHW activations, `[Cout, Cin/groups, KH, KW]` weights)
 * and its two backward ops.
 * @module
 */
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, type Shape, ShapeError, showShape, type Tensor } from "../tensor.ts";

/** A size given once for both spatial axes or as `[h, w]`. */
export type Pair = number | readonly [number, number];

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Step between output positions (default 1). */
  readonly stride?: Pair;
  /** Zero padding on each side (default 0). */
  readonly padding?: Pair;
  /** Spacing between kernel taps (default 1). */
  readonly dilation?: Pair;
  /** Number of channel groups; `Cin` and `Cout` must divide by it (default 1). */
  readonly groups?: number;
}

/** Conv attributes as stored on nodes: every pair explicit. */
export interface ConvAttrs {
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** `[ph, pw]`. */
  readonly padding: readonly [number, number];
  /** `[dh, dw]`. */
  readonly dilation: readonly [number, number];
  /** Channel groups. */
  readonly groups: number;
}

/** Expands a {@linkcode Pair} to `[h, w]`. */
export function pair(p: Pair): readonly [number, number] {
  return typeof p === "number" ? [p, p] : p;
}

/** Output size of one spatial axis of a convolution or pooling window. */
export function windowOut(size: number, k: number, s: number, p: number, d = 1): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Reads the conv attributes of a conv node or one of its backward nodes. */
export function convAttrs(n: Tensor): ConvAttrs {
  return n.attrs as unknown as ConvAttrs;
}

function checkConv(x: Shape, w: Shape, a: ConvAttrs): Shape {
  const op = "conv2d";
  const [n, cin, h, wd] = x;
  const [cout, cinG, kh, kw] = w;
  const all = [...a.stride, ...a.dilation, a.groups];
  if (!all.every((v) => Number.isInteger(v) && v >= 1) || !a.padding.every((v) => v >= 0)) {
    throw new ShapeError(op, `invalid stride/padding/dilation/groups ${JSON.stringify(a)}`);
  }
  if (cin !== cinG * a.groups || cout % a.groups !== 0) {
    throw new ShapeError(
      op,
      `input channels do not match weight: x ${showShape(x)}, w ${
        showShape(w)
      }, groups ${a.groups}`,
    );
  }
  const ho = windowOut(h, kh, a.stride[0], a.padding[0], a.dilation[0]);
  const wo = windowOut(wd, kw, a.stride[1], a.padding[1], a.dilation[1]);
  if (ho < 1 || wo < 1) {
    throw new ShapeError(
      op,
      `kernel larger than padded input: x ${showShape(x)}, w ${showShape(w)}`,
    );
  }
  return [n, cout, ho, wo];
}

/** Convolution of `x` `[N,Cin,H,W]` with `w` `[Cout,Cin/groups,KH,KW]` (no bias). */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  checkRank("conv2d", "x", x, 4);
  checkRank("conv2d", "w", w, 4);
  const attrs: ConvAttrs = {
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
    groups: options.groups ?? 1,
  };
  return node("conv2d", [x, w], checkConv(x.shape, w.shape, attrs), { ...attrs });
}

/** Gradient of a conv's input from its output gradient and weights. */
export function conv2dGradInput(dy: Tensor, w: Tensor, attrs: ConvAttrs, xShape: Shape): Tensor {
  return node("conv2dGradInput", [dy, w], xShape, { ...attrs });
}

/** Gradient of a conv's weights from its input and output gradient. */
export function conv2dGradWeight(x: Tensor, dy: Tensor, attrs: ConvAttrs, wShape: Shape): Tensor {
  return node("conv2dGradWeight", [x, dy], wShape, { ...attrs });
}

/** conv2d: the input gradient reads only W; the weight gradient reads the input. */
export const conv2dBackward: BackwardRule = (n, dy, needs) => {
  const [x, w] = n.inputs;
  const a = convAttrs(n);
  return [
    needs[0] ? conv2dGradInput(dy, w, a, x.shape) : undefined,
    needs[1] ? conv2dGradWeight(x, dy, a, w.shape) : undefined,
  ];
};
