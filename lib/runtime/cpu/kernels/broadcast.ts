/**
 * Broadcasting kernels: add, mul, sumTo, broadcastTo.
 * @module
 */
import { numel, type Shape } from "../../../graph/mod.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

/**
 * For each element of `out` (row-major), the flat index of the element of a
 * value of shape `from` that broadcasts onto it.
 */
export function broadcastIndex(from: Shape, out: Shape): Int32Array {
  const rank = out.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    const axis = rank - from.length + i;
    if (from[i] !== 1) strides[axis] = s;
    s *= from[i];
  }
  const index = new Int32Array(numel(out));
  const pos = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < index.length; k++) {
    index[k] = at;
    for (let axis = rank - 1; axis >= 0; axis--) {
      at += strides[axis];
      if (++pos[axis] < out[axis]) break;
      at -= strides[axis] * out[axis];
      pos[axis] = 0;
    }
  }
  return index;
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
    const ia = broadcastIndex(sa, n.shape), ib = broadcastIndex(sb, n.shape);
    for (let i = 0; i < y.length; i++) y[i] = f(a[ia[i]], b[ib[i]]);
  };
}

/** a + b. */
export const add: CpuKernel = binary((a, b) => a + b);

/** a · b. */
export const mul: CpuKernel = binary((a, b) => a * b);

/** Sums over broadcast axes. */
export const sumTo: CpuKernel = (n, [xa], out) => {
  const x = f32(xa);
  const index = broadcastIndex(n.shape, n.inputs[0].shape);
  const acc = new Float64Array(numel(n.shape));
  for (let i = 0; i < x.length; i++) acc[index[i]] += x[i];
  f32(out).set(acc);
};

/** Repeats along broadcast axes, times `scale`. */
export const broadcastTo: CpuKernel = (n, [xa], out) => {
  const x = f32(xa), s = n.attrs.scale as number, y = f32(out);
  const index = broadcastIndex(n.inputs[0].shape, n.shape);
  for (let i = 0; i < y.length; i++) y[i] = x[index[i]] * s;
};
