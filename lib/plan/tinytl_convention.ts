/**
 * Training memory as TinyTL (Cai et al. 2020) counts it, to set da3's
 * figures beside published ones: the activations kept for backward (da3's
 * saved set: fp32 values at 32 bits, ReLU/ReLU6 masks at 1 bit) plus the
 * parameters, frozen ones at 8 bits and trainable ones at 32; no gradients,
 * no optimizer state, no forward peak (da3's full accounting adds those).
 * @module
 */
import type { GradResult } from "../autodiff/mod.ts";
import { isTrainable, numel, params } from "../graph/mod.ts";

/** Bytes of one training step of `g` under TinyTL's convention. */
export function tinyTLConventionBytes(g: GradResult): number {
  const weights = params(g.graph).reduce(
    (s, p) => s + numel(p.shape) * (isTrainable(p) ? 4 : 1),
    0,
  );
  return g.savedBytes + weights;
}
