/**
 * BN + last: the batch norms' affine parameters and the head train, with
 * running (eval) statistics. Keeps every BN input for the γ gradient.
 * @module
 */
import type { Adaptor } from "../models/adaptor.ts";
import { convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

/** Frozen convs, trainable BN γ and β with eval statistics, new head. */
export function bnAndHead(): Method {
  const adaptor: Adaptor = {
    name: "bnhead",
    convBn: (x, pair) => convBnLayer(x, pair, { bn: "affine" }),
  };
  return { name: "bnhead", adaptor, storedBits: FULL_PRECISION };
}
