/**
 * Last layer: only the new head trains. The lower bound on training memory;
 * no gradient enters the backbone.
 * @module
 */
import type { Adaptor } from "../models/adaptor.ts";
import { convBnLayer } from "../models/conv_bn.ts";
import { FULL_PRECISION, type Method } from "./method.ts";

/** The backbone entirely frozen (eval statistics); only `fc` trains. */
export function lastLayer(): Method {
  const adaptor: Adaptor = { name: "lastlayer", convBn: (x, pair) => convBnLayer(x, pair) };
  return { name: "lastlayer", adaptor, storedBits: FULL_PRECISION };
}
