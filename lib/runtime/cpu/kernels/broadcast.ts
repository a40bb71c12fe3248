/**
 * Broadcasting kernels: add, mul, sumTo, broadcastTo.
 * @module
 */
import { numel, type Shape } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/**
 * Per axis of `out`, the step in the flat index of a value of shape `from`
 * that broadcasts onto it (0 along broadcast axes).
 */
function broadcastStrides(from: Shape, out: Shape): number[] {
  const rank = out.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    const axis = rank - from.length + i;
    if (from[i] !== 1) strides[axis] = s;
    s *= from[i];
  }
  return strides;
}

/**
 * Calls `f(i, ka, kb)` for each element `i` of `out` (row-major) with the
 * flat indices of the elements of values of shapes `a` and `b` that
 * broadcast onto it. Nothing of the output's size is allocated.
 */
export function forEachBroadcast(
  out: Shape,
  a: Shape,
  b: Shape,
  f: (i: number, ka: number, kb: number) => void,
): void {
  const rank = out.length;
  const sa = broadcastStrides(a, out), sb = broadcastStrides(b, out);
  const pos = new Array<number>(rank).fill(0);
  const total = numel(out);
  let ka = 0, kb = 0;
  for (let i = 0; i < total; i++) {
    f(i, ka, kb);
    for (let axis = rank - 1; axis >= 0; axis--) {
      ka += sa[axis];
      kb += sb[axis];
      if (++pos[axis] < out[axis]) break;
      ka -= sa[axis] * out[axis];
      kb -= sb[axis] * out[axis];
      pos[axis] = 0;
    }
  }
}

function same(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Element `i` of the output reads element `i` of an operand of the output's shape, so `out` may alias it. */
function binary(f: (a: number, b: number) => number): CpuKernel {
  return (n, [aa, ba], out) => {
    const a = f32(aa), b = f32(ba), y = f32(out);
    const [sa, sb] = [n.inputs[0].shape, n.inputs[1].shape];
    if (same(sa, sb)) {
      for (let i = 0; i < y.length; i++) y[i] = f(a[i], b[i]);
      return;
    }
    forEachBroadcast(n.shape, sa, sb, (i, ka, kb) => (y[i] = f(a[ka], b[kb])));
  };
}

/** a + b. */
export const add: CpuKernel = binary((a, b) => a + b);

/** a · b. */
export const mul: CpuKernel = binary((a, b) => a * b);

/** Sums over broadcast axes. */
export const sumTo: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), shape = n.inputs[0].shape;
  const acc = new Float64Array(numel(n.shape));
  forEachBroadcast(shape, n.shape, shape, (i, k) => (acc[k] += x[i]));
  f32(out).set(acc);
};

/** Repeats along broadcast axes, times `scale`. */
export const broadcastTo: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), s = n.attrs.scale as number, y = f32(out);
  forEachBroadcast(n.shape, n.inputs[0].shape, n.shape, (i, k) => (y[i] = x[k] * s));
};
