/**
 * Reading the weights gated inference runs on: a shared backbone file and a
 * per-domain checkpoint holding the adaptor and head parameters.
 * @module
 */
import type { Da3Options } from "../adapt/mod.ts";
import { loadBackbone } from "../io/backbone.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import type { ParamStore } from "../runtime/data.ts";

/** A backbone overlaid with one domain's checkpoint. */
export interface AdaptedWeights {
  /** Backbone and domain parameters together. */
  readonly params: ParamStore;
  /** The checkpoint's adaptation method. */
  readonly method: string;
  /** The checkpoint's domain. */
  readonly domain: string;
  /** The DA³ options the checkpoint was trained with (empty: defaults). */
  readonly options: Da3Options;
}

/**
 * The backbone's parameters overlaid with a domain checkpoint's (which must
 * adapt this backbone: its hash is checked).
 */
export async function loadAdapted(
  backbonePath: string,
  checkpointPath: string,
): Promise<AdaptedWeights> {
  const backbone = await loadBackbone(backbonePath);
  const ckpt = await loadCheckpoint(checkpointPath, backbone.hash);
  const params: ParamStore = new Map(backbone.params);
  for (const [k, w] of ckpt.params) params.set(k, w);
  return {
    params,
    method: ckpt.meta.method,
    domain: ckpt.meta.domain,
    options: ckpt.meta.options ?? {},
  };
}
