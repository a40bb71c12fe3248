/**
 * Parallel residual adapters (Rebuffi et al., 2018): a trainable 1×1 conv on
 * the input of each 3×3 block conv, added to its output before the batch
 * norm. The adapter's weight gradient keeps that input.
 * @module
 */
import { add, conv2d, param } from "../graph/mod.ts";
import type { Adaptor } from "../models/adaptor.ts";
import { type BnTraining, convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

/** Options of {@linkcode parallelResAdapter}. */
export interface ResAdapterOptions {
  /**
   * How every batch norm trains (default `batch`: per-domain batch norms
   * trained with batch statistics, as in the residual adapters' code).
   */
  readonly bn?: BnTraining;
}

/** Frozen convs; `bn(conv3×3(x) + conv1×1(x))` on every 3×3 block conv; new head. */
export function parallelResAdapter(options: ResAdapterOptions = {}): Method {
  const bn = options.bn ?? "batch";
  const adaptor: Adaptor = {
    name: "parallel",
    convBn: (x, pair) => {
      if (pair.role !== "main" || pair.kernel === 1) return convBnLayer(x, pair, { bn });
      const w = param(`${pair.conv}.parallel.weight`, [pair.outChannels, pair.inChannels, 1, 1], {
        init: "zeros",
      });
      const side = conv2d(x, w, { stride: pair.stride });
      return convBnLayer(x, pair, { bn, beforeBn: (y) => add(y, side) });
    },
  };
  return { name: "parallel", adaptor, storedBits: FULL_PRECISION };
}
