/**
 * Random cases of the reduced-precision weight tests: convolutions and
 * matrix products whose weight has a given storage, with their feeds.
 */
import fc from "fast-check";
import {
  conv2d,
  conv2dGradInput,
  convAttrsOf,
  input,
  matmul,
  param,
  type ParamStorage,
  type ScaleGranularity,
  type Tensor,
  windowOut,
} from "../lib/graph/mod.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { type QuantizedTensor, quantizeF16, quantizeU8 } from "../lib/runtime/quantized.ts";
import { rng } from "../lib/runtime/params.ts";

/** Uniform values in `[-scale, scale)` from a seed. */
export function random(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => scale * (2 * next() - 1));
}

/** `v` stored as `storage`. */
export function quantize(
  v: Float32Array,
  shape: readonly number[],
  storage: "u8" | "f16",
  scales: ScaleGranularity,
): QuantizedTensor {
  return storage === "u8" ? quantizeU8(v, shape, scales) : quantizeF16(v, shape);
}

/** The reduced-precision storages under test. */
export const storages: fc.Arbitrary<["u8" | "f16", ScaleGranularity]> = fc.constantFrom<
  ["u8" | "f16", ScaleGranularity]
>(["u8", "channel"], ["u8", "tensor"], ["f16", "channel"]);

/** A random convolution. */
export interface ConvCase {
  readonly n: number;
  readonly groups: number;
  readonly cinG: number;
  readonly coutG: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly seed: number;
}

/** Random convolutions with at least one output pixel, some with more than one 16-channel block. */
export const convCase: fc.Arbitrary<ConvCase> = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cinG: fc.integer({ min: 1, max: 3 }),
  coutG: fc.integer({ min: 1, max: 21 }),
  h: fc.integer({ min: 1, max: 6 }),
  w: fc.integer({ min: 1, max: 6 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.integer({ min: 0, max: 1 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  seed: fc.integer(),
}).filter((c) =>
  windowOut(c.h, c.k, c.stride, c.padding, c.dilation) >= 1 &&
  windowOut(c.w, c.k, c.stride, c.padding, c.dilation) >= 1
);

/**
 * The forward and input-gradient graphs of a convolution whose weight `w`
 * has the given storage: outputs `[conv2d(x, w), conv2dGradInput(dy, w),
 * conv2dGradInput(dy, w, base)]`.
 */
export function convGraphs(c: ConvCase, storage: ParamStorage, scales: ScaleGranularity) {
  const xs = [c.n, c.cinG * c.groups, c.h, c.w];
  const ws = [c.coutG * c.groups, c.cinG, c.k, c.k];
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const w = param("w", ws, { trainable: false, storage, scales });
  const y = conv2d(input("x", xs), w, opts);
  const dy = input("dy", y.shape);
  const dx = conv2dGradInput(dy, w, convAttrsOf(opts), xs);
  // The accumulating form (base + ∂x) that grad() makes of a fork's summed gradients.
  const dxBase = conv2dGradInput(dy, w, convAttrsOf(opts), xs, input("base", xs));
  const size = xs.reduce((a, b) => a * b);
  const feeds = {
    x: random(size, c.seed),
    dy: random(y.shape.reduce((a, b) => a * b), ~c.seed),
    base: random(size, c.seed ^ 5),
  };
  return { outputs: [y, dx, dxBase], xs, ws, feeds };
}

/** Random depthwise convolutions (groups = Cin = Cout), up to 8 channels. */
export const depthwiseCase: fc.Arbitrary<ConvCase> = fc.tuple(
  convCase,
  fc.integer({ min: 1, max: 8 }),
).map(([c, groups]) => ({ ...c, groups, cinG: 1, coutG: 1 }));

/** Random convolutions, a third of them depthwise. */
export const anyConvCase: fc.Arbitrary<ConvCase> = fc.oneof(convCase, convCase, depthwiseCase);

/** A random matrix product with one weight operand. */
export interface MatmulCase {
  readonly m: number;
  readonly k: number;
  readonly p: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly weightFirst: boolean;
  readonly seed: number;
}

/** Random matrix products, sizes 1..20. */
export const matmulCase: fc.Arbitrary<MatmulCase> = fc.record({
  m: fc.integer({ min: 1, max: 20 }),
  k: fc.integer({ min: 1, max: 20 }),
  p: fc.integer({ min: 1, max: 20 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  weightFirst: fc.boolean(),
  seed: fc.integer(),
});

/** The product of an input `x` and a weight `w` of the given storage (`w` first when `weightFirst`). */
export function matmulGraph(c: MatmulCase, storage: ParamStorage, scales: ScaleGranularity) {
  const sa = c.transA ? [c.k, c.m] : [c.m, c.k], sb = c.transB ? [c.p, c.k] : [c.k, c.p];
  const [ws, xs] = c.weightFirst ? [sa, sb] : [sb, sa];
  const w = param("w", ws, { trainable: false, storage, scales });
  const x = input("x", xs);
  const out: Tensor = matmul(c.weightFirst ? w : x, c.weightFirst ? x : w, {
    transA: c.transA,
    transB: c.transB,
  });
  const feeds: Record<string, TensorData> = { x: random(xs[0] * xs[1], ~c.seed) };
  return { outputs: [out], ws, feeds };
}
