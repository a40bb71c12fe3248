/**
 * Deterministic parameter initialisation from each param node's `init`.
 * @module
 */
import { type Graph, numel, params, type Tensor } from "../graph/mod.ts";
import type { Init } from "../graph/ops/source.ts";
import type { ParamStore } from "./data.ts";
import { mulberry32 } from "../rng.ts";

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export const rng: (seed: number) => () => number = mulberry32;

/** A standard normal sample (Box–Muller) from a uniform source. */
export function gaussian(next: () => number): number {
  const u = 1 - next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

function fanIn(shape: readonly number[]): number {
  return shape.length < 2 ? shape[0] : numel(shape) / shape[0];
}

/** The initial value of one parameter node. */
export function initParam(p: Tensor, next: () => number): Float32Array {
  const out = new Float32Array(numel(p.shape));
  const init = p.attrs.init as Init;
  const fill = (f: () => number) => {
    for (let i = 0; i < out.length; i++) out[i] = f();
  };
  if (init === "zeros") return out;
  if (init === "ones") out.fill(1);
  else if (init === "he") {
    const std = Math.sqrt(2 / fanIn(p.shape));
    fill(() => std * gaussian(next));
  } else if (init === "xavier") {
    const a = Math.sqrt(6 / (fanIn(p.shape) + p.shape[0]));
    fill(() => a * (2 * next() - 1));
  } else if ("normal" in init) fill(() => init.normal * gaussian(next));
  else if ("uniform" in init) {
    const [lo, hi] = init.uniform;
    fill(() => lo + (hi - lo) * next());
  } else out.fill(init.constant);
  return out;
}

/** A 32-bit FNV-1a hash of a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Initial values for every parameter of `g` not already in `into`. Each
 * parameter's stream is seeded by `seed` and its name, so a value does not
 * depend on which other parameters exist.
 */
export function initParams(g: Graph, seed = 0, into: ParamStore = new Map()): ParamStore {
  for (const p of params(g)) {
    const name = String(p.attrs.name);
    if (!into.has(name)) into.set(name, initParam(p, rng(seed ^ hashString(name))));
  }
  return into;
}
