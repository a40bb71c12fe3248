/**
 * WGSL for the optimizer updates: SGD with momentum and Adam over `count`
 * elements, writing the parameter (binding 0) and its state in place. The
 * last binding, the node's output, is the parameter's own buffer again and
 * is not touched. The step input holds `t`, `1 − β₁ᵗ`, `1 − β₂ᵗ` and the
 * step's learning-rate factor (the rate applied is `lr · factor`, rounded
 * to f32 before it scales the update).
 * Arithmetic is f32 throughout (the CPU reference computes in f64 and
 * rounds each stored value), so results may differ in the last bits.
 * @module
 */
import { bindings, f32, type Kernel, perIndex } from "./wgsl.ts";

/** SGD with momentum: `v = μv + g + λw` (`g + λw` at step 1), `w −= lr·v`. */
export function sgdUpdate(
  count: number,
  lr: number,
  momentum: number,
  weightDecay: number,
): Kernel {
  const decls = bindings([["w", "f32"], ["g", "f32"], ["vel", "f32"], ["step", "f32"], [
    "out",
    "f32",
  ]]);
  const body = `  let gi = g[i] + ${f32(weightDecay)} * w[i];
  let vi = select(${f32(momentum)} * vel[i] + gi, gi, step[0] == 1.0f);
  vel[i] = vi;
  w[i] = w[i] - (${f32(lr)} * step[3]) * vi;`;
  return perIndex("sgdUpdate", decls, count, body);
}

/** Adam: `m`, `v` updated, `w −= lr·(m / c₁) / (√(v / c₂) + ε)`. */
export function adamUpdate(
  count: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
): Kernel {
  const decls = bindings([["w", "f32"], ["g", "f32"], ["m", "f32"], ["v", "f32"], [
    "step",
    "f32",
  ], ["out", "f32"]]);
  const body = `  let gi = g[i] + ${f32(weightDecay)} * w[i];
  let mi = ${f32(beta1)} * m[i] + ${f32(1 - beta1)} * gi;
  let vi = ${f32(beta2)} * v[i] + ${f32(1 - beta2)} * gi * gi;
  m[i] = mi;
  v[i] = vi;
  w[i] = w[i] - ((${f32(lr)} * step[3]) * (mi / step[1])) / (sqrt(vi / step[2]) + ${f32(eps)});`;
  return perIndex("adamUpdate", decls, count, body);
}
