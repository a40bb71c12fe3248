/**
 * Optimizer updates: SGD with momentum and Adam, the reference semantics of
 * the update ops. An update is the one kind of kernel that writes operands:
 * `out` is the parameter's own storage (the parameter operand itself), and
 * the state operands are overwritten too. The arithmetic is the host
 * optimizer's (`lib/train/optimizer.ts`), operation for operation, so the
 * two agree bit for bit.
 * @module
 */
import { type CpuKernel, f32 } from "./kernel.ts";

const num = (a: unknown) => a as number;

/** `v = μv + g + λw` (`g + λw` at step 1), `w −= lr·v` with `lr` the attribute times the step's factor. */
export const sgdUpdate: CpuKernel = (n, [wa, ga, va, step], out) => {
  const w = f32(wa), g = f32(ga), v = f32(va), y = f32(out);
  const s = f32(step);
  const lr = num(n.attrs.lr) * s[3], mu = num(n.attrs.momentum), wd = num(n.attrs.weightDecay);
  const first = s[0] === 1;
  for (let i = 0; i < y.length; i++) {
    const gi = g[i] + wd * w[i];
    v[i] = first ? gi : mu * v[i] + gi;
    y[i] = w[i] - lr * v[i];
  }
};

/**
 * Adam: moments `m`, `v` updated, `w −= lr·m̂ / (√v̂ + ε)` with the bias
 * corrections of step `t` and `lr` the attribute times the step's factor.
 */
export const adamUpdate: CpuKernel = (n, [wa, ga, ma, va, step], out) => {
  const w = f32(wa), g = f32(ga), m = f32(ma), v = f32(va), y = f32(out);
  const lr = num(n.attrs.lr) * f32(step)[3], wd = num(n.attrs.weightDecay), eps = num(n.attrs.eps);
  const b1 = num(n.attrs.beta1), b2 = num(n.attrs.beta2);
  const t = f32(step)[0];
  const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  for (let i = 0; i < y.length; i++) {
    const gi = g[i] + wd * w[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    y[i] = w[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
  }
};
