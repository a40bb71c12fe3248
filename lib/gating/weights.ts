/**
 * Reading the weights gated inference runs on: a shared backbone file and a
 * per-domain checkpoint holding the adaptor and head parameters.
 * @module
 */
import { readSafetensorsFile, toFloat32Array } from "../io/safetensors.ts";
import type { Da3Options } from "../adapt/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { hashParams, loadCheckpoint } from "../train/checkpoint.ts";

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

/** Reads every tensor of a backbone safetensors file as f32 parameters. */
export async function loadBackbone(path: string): Promise<ParamStore> {
  const { tensors } = await readSafetensorsFile(path);
  const params: ParamStore = new Map();
  for (const [k, t] of tensors) params.set(k, toFloat32Array(t).slice());
  return params;
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
  const ckpt = await loadCheckpoint(checkpointPath, await hashParams(backbone));
  const params: ParamStore = new Map(backbone);
  for (const [k, w] of ckpt.params) params.set(k, w);
  return {
    params,
    method: ckpt.meta.method,
    domain: ckpt.meta.domain,
    options: ckpt.meta.options ?? {},
  };
}
