/**
 * The shared frozen backbone: a ResNet-20 pre-trained on the source domain by
 * `deno task pretrain`, stored without its head.
 * @module
 */
import { readSafetensorsFile, toFloat32Array } from "../io/safetensors.ts";
import type { ParamStore } from "../runtime/data.ts";
import { hashParams } from "./checkpoint.ts";

/** Where the committed backbone lives, relative to the repository root. */
export const BACKBONE_URL: URL = new URL("../../models/backbone.safetensors", import.meta.url);

/** A loaded backbone. */
export interface Backbone {
  /** Parameters by name (no `fc.*`). */
  readonly params: ParamStore;
  /** SHA-256 of the parameters. */
  readonly hash: string;
  /** Metadata written at pre-training (source domain, accuracy, ...). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Thrown when the backbone file is missing. */
export class BackboneError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BackboneError";
  }
}

/** Reads the backbone (validated as safetensors before any large allocation). */
export async function loadBackbone(path: string | URL = BACKBONE_URL): Promise<Backbone> {
  try {
    await Deno.stat(path);
  } catch {
    throw new BackboneError(`no backbone at ${path}: run \`deno task pretrain\` to create it`);
  }
  const { tensors, metadata } = await readSafetensorsFile(path);
  const params: ParamStore = new Map();
  for (const [k, t] of tensors) params.set(k, toFloat32Array(t).slice());
  return { params, hash: await hashParams(params), metadata };
}
