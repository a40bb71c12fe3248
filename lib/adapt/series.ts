/**
 * Series residual adapters (Rebuffi et al., 2017): after each 3×3 block
 * conv, `y + conv1×1(bn(y))` before the block's batch norm. The adapter's BN
 * keeps the 3×3 conv's output. The adapter's own BN always trains with batch
 * statistics; `bn` sets how the backbone's batch norms train.
 * @module
 */
import { add, conv2d, param } from "../graph/mod.ts";
import type { Adaptor } from "../models/adaptor.ts";
import { bnLayer, convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";
import type { ResAdapterOptions } from "./parallel.ts";

/** Frozen convs; a BN→1×1-conv adapter with identity after every 3×3 block conv; new head. */
export function seriesResAdapter(options: ResAdapterOptions = {}): Method {
  const bn = options.bn ?? "batch";
  const adaptor: Adaptor = {
    name: "series",
    convBn: (x, pair) => {
      if (pair.role !== "main" || pair.kernel === 1) return convBnLayer(x, pair, { bn });
      const c = pair.outChannels;
      const w = param(`${pair.conv}.series.conv.weight`, [c, c, 1, 1], { init: "zeros" });
      const adapter = (y: typeof x) =>
        add(y, conv2d(bnLayer(y, `${pair.conv}.series.bn`, c, "batch"), w));
      return convBnLayer(x, pair, { bn, beforeBn: adapter });
    },
  };
  return { name: "series", adaptor, storedBits: FULL_PRECISION };
}
