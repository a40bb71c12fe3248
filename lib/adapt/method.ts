/**
 * What an adaptation method is: an adaptor for the backbone builders plus
 * metadata about what it stores per domain.
 * @module
 */
import { type Graph, isTrainable, params, type Tensor } from "../graph/mod.ts";
import type { Adaptor } from "../models/adaptor.ts";

/** An adaptation method. */
export interface Method {
  /** Its name in {@linkcode METHODS}, e.g. `da3`. */
  readonly name: string;
  /** How it builds every conv→BN pair and block. */
  readonly adaptor: Adaptor;
  /** Bits per element when a per-domain parameter is stored (32; 1 for binarized masks). */
  readonly storedBits: (paramName: string) => number;
  /** Multiplier of the learning rate for a trainable parameter (default 1 for every one). */
  readonly lrScale?: (paramName: string) => number;
}

/** Stored at full fp32 precision. */
export const FULL_PRECISION = (): number => 32;

/**
 * The parameters a method keeps per domain in graph `g`: every trainable
 * parameter, plus the running statistics of batch norms that train with
 * batch statistics (they are re-estimated per domain). Everything else is
 * the shared backbone.
 */
export function perDomainParams(g: Graph): Tensor[] {
  const stats = new Set<Tensor>();
  for (const n of g.nodes) {
    if (n.op === "batchNorm" && n.attrs.mode === "batch") {
      stats.add(n.inputs[3]);
      stats.add(n.inputs[4]);
    }
  }
  return params(g).filter((p) => isTrainable(p) || stats.has(p));
}

/** Bytes a method stores per domain for graph `g` (its per-domain parameters at their stored precision). */
export function perDomainBytes(g: Graph, method: Method): number {
  return perDomainParams(g).reduce((s, p) => {
    const n = p.shape.reduce((a, d) => a * d, 1);
    return s + Math.ceil((n * method.storedBits(String(p.attrs.name))) / 8);
  }, 0);
}
