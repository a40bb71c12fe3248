/**
 * 2-D convolution (NCHW activations, `[Cout, Cin/groups, KH, KW]` weights)
 * and its two backward ops.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
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

/**
 * One convolution's shapes and attributes: what every conv kernel (CPU,
 * WGSL, gated) and the FLOP count read. `y` is `[N, Cout, Ho, Wo]` with
 * `Ho`, `Wo` from {@linkcode windowOut}.
 */
export interface ConvGeometry extends ConvAttrs {
  /** Input `[N, Cin, H, W]`. */
  readonly x: Shape;
  /** Weights `[Cout, Cin/groups, KH, KW]`. */
  readonly w: Shape;
  /** Output `[N, Cout, Ho, Wo]`. */
  readonly y: Shape;
}

/** The attributes of {@linkcode Conv2dOptions}, every pair explicit and defaults filled in. */
export function convAttrsOf(options: Conv2dOptions = {}): ConvAttrs {
  return {
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
    groups: options.groups ?? 1,
  };
}

/**
 * The geometry of a conv of `x` with `w` (output size from
 * {@linkcode windowOut}; not validated: `Ho` or `Wo` may be below 1).
 */
export function convGeometry(x: Shape, w: Shape, options: Conv2dOptions = {}): ConvGeometry {
  const a = convAttrsOf(options);
  const ho = windowOut(x[2], w[2], a.stride[0], a.padding[0], a.dilation[0]);
  const wo = windowOut(x[3], w[3], a.stride[1], a.padding[1], a.dilation[1]);
  return { ...a, x, w, y: [x[0], w[0], ho, wo] };
}

/** True for a depthwise conv: every channel its own group with one filter (groups = Cin = Cout). */
export function isDepthwise(g: ConvGeometry): boolean {
  return g.groups === g.x[1] && g.y[1] === g.x[1] && g.w[1] === 1;
}

/** The geometry of a `conv2d`, `conv2dGradInput` or `conv2dGradWeight` node. */
export function convGeometryOf(n: Tensor): ConvGeometry {
  const { stride, padding, dilation, groups } = convAttrs(n);
  const [a, b] = n.inputs;
  const [x, w, y] = n.op === "conv2dGradInput"
    ? [n.shape, b.shape, a.shape]
    : n.op === "conv2dGradWeight"
    ? [a.shape, n.shape, b.shape]
    : [a.shape, b.shape, n.shape];
  return { stride, padding, dilation, groups, x, w, y };
}

/** FLOPs of a conv (2 per multiply-add); its input and weight gradients cost the same. */
export function convFlops(g: ConvGeometry): number {
  const [b, cout, ho, wo] = g.y;
  const [, cinG, kh, kw] = g.w;
  return 2 * b * cout * cinG * kh * kw * ho * wo;
}

function checkConv(x: Shape, w: Shape, options: Conv2dOptions): ConvGeometry {
  const op = "conv2d";
  const g = convGeometry(x, w, options);
  const [, cin] = x;
  const [cout, cinG] = w;
  const all = [...g.stride, ...g.dilation, g.groups];
  if (!all.every((v) => Number.isInteger(v) && v >= 1) || !g.padding.every((v) => v >= 0)) {
    const { stride, padding, dilation, groups } = g;
    throw new ShapeError(
      op,
      `invalid stride/padding/dilation/groups ${
        JSON.stringify({ stride, padding, dilation, groups })
      }`,
    );
  }
  if (cin !== cinG * g.groups || cout % g.groups !== 0) {
    throw new ShapeError(
      op,
      `input channels do not match weight: x ${showShape(x)}, w ${
        showShape(w)
      }, groups ${g.groups}`,
    );
  }
  if (g.y[2] < 1 || g.y[3] < 1) {
    throw new ShapeError(
      op,
      `kernel larger than padded input: x ${showShape(x)}, w ${showShape(w)}`,
    );
  }
  return g;
}

/** Convolution of `x` `[N,Cin,H,W]` with `w` `[Cout,Cin/groups,KH,KW]` (no bias). */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  checkRank("conv2d", "x", x, 4);
  checkRank("conv2d", "w", w, 4);
  const { stride, padding, dilation, groups, y } = checkConv(x.shape, w.shape, options);
  return node("conv2d", [x, w], y, { stride, padding, dilation, groups });
}

/**
 * An eval-mode batch norm's input-gradient scale `γ/√(σ²+ε)` that a conv's
 * input gradient applies to `dy` as it reads it: the conv then computes the
 * input gradient of `dy · γ/√(σ²+ε)` without that product in memory.
 */
export interface GradInputScale {
  /** The batch norm's γ, `[Cout]`. */
  readonly gamma: Tensor;
  /** Its running variance, `[Cout]`. */
  readonly variance: Tensor;
  /** Its ε. */
  readonly eps: number;
}

/**
 * Gradient of a conv's input from its output gradient and weights; with
 * `base` (of the input's shape), `base + ∂x`: the gradients of a fork summed
 * into one buffer, which the planner may compute in place of `base`. With
 * `scale`, `dy` is read multiplied by a batch norm's per-channel scale
 * (inputs `[dy, w, γ, σ², base?]`, attribute `bnEps`).
 */
export function conv2dGradInput(
  dy: Tensor,
  w: Tensor,
  attrs: ConvAttrs,
  xShape: Shape,
  base?: Tensor,
  scale?: GradInputScale,
): Tensor {
  if (base && (base.dtype !== "f32" || showShape(base.shape) !== showShape(xShape))) {
    throw new ShapeError(
      "conv2dGradInput",
      `base ${base.dtype}${showShape(base.shape)} must be f32${showShape(xShape)}`,
    );
  }
  const { stride, padding, dilation, groups } = attrs;
  const a = { stride, padding, dilation, groups };
  const inputs = [dy, w, ...(scale ? [scale.gamma, scale.variance] : []), ...(base ? [base] : [])];
  return node("conv2dGradInput", inputs, xShape, scale ? { ...a, bnEps: scale.eps } : a);
}

/** The operands of a `conv2dGradInput` node: `dy`, `w`, and its optional scale and base. */
export function gradInputParts(
  n: Tensor,
): { dy: Tensor; w: Tensor; scale?: GradInputScale; base?: Tensor } {
  const [dy, w] = n.inputs;
  const eps = n.attrs.bnEps;
  const scale = typeof eps === "number"
    ? { gamma: n.inputs[2], variance: n.inputs[3], eps }
    : undefined;
  const base = n.inputs.length === (scale ? 5 : 3) ? n.inputs[n.inputs.length - 1] : undefined;
  return { dy, w, ...(scale ? { scale } : {}), ...(base ? { base } : {}) };
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

/** The records of the convolution and its two gradients. */
export const CONV2D_OPS = {
  conv2d: {
    build: conv2d,
    backward: conv2dBackward,
    flops: (n) => convFlops(convGeometryOf(n)),
    inPlace: NOT_IN_PLACE,
    perSample: true,
  },
  conv2dGradInput: {
    build: conv2dGradInput,
    backward: null,
    flops: (n) => convFlops(convGeometryOf(n)),
    // With a base (last input), the sum may overwrite the base.
    inPlace: (n) => (gradInputParts(n).base ? [n.inputs.length - 1] : NOT_IN_PLACE),
    perSample: true,
  },
  conv2dGradWeight: {
    build: conv2dGradWeight,
    backward: null,
    flops: (n) => convFlops(convGeometryOf(n)),
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
