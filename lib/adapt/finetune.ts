/**
 * Fine-tuning: every weight trainable, batch norms with batch statistics.
 * The reference for memory ratios: it keeps the input of every conv and BN.
 * @module
 */
import type { Adaptor } from "../models/adaptor.ts";
import { convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

/** Every conv and BN trainable, BN in batch-statistics mode, new head. */
export function fineTune(): Method {
  const adaptor: Adaptor = {
    name: "finetune",
    convBn: (x, pair) => convBnLayer(x, pair, { trainableConv: true, bn: "batch" }),
  };
  return { name: "finetune", adaptor, storedBits: FULL_PRECISION };
}
