/**
 * The shared frozen backbone: by default the ResNet-20 pre-trained on the
 * source domain by `deno task pretrain`, stored without its head; any other
 * backbone file (e.g. `models/mobilenetv2.safetensors`, affine u8) loads the
 * same way. This is da3's one backbone loader (training, inference and the
 * gating tools all read it here).
 * @module
 */
import type { Shape } from "../graph/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { hashParams } from "./checkpoint.ts";
import { dequantizeAffine } from "./affine_u8.ts";
import { firstNonFinite } from "./finite.ts";
import { readSafetensorsFile } from "./safetensors.ts";

/** Where the committed backbone lives, relative to the repository root. */
export const BACKBONE_URL: URL = new URL("../../models/backbone.safetensors", import.meta.url);

/** A loaded backbone. */
export interface Backbone {
  /** Parameters by name (no `fc.*`). */
  readonly params: ParamStore;
  /** The stored shape of every parameter. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** SHA-256 of the parameters ({@linkcode hashParams}). */
  readonly hash: string;
  /** Metadata written at pre-training (source domain, accuracy, ...). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Thrown when the backbone file is missing or holds a non-finite value; names the file. */
export class BackboneError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "BackboneError";
  }
}

/**
 * Reads the backbone (validated as safetensors before any large allocation,
 * every value finite); U8/U16 tensors with an `.affine` companion are
 * dequantised to f32 (see `affine_u8.ts`).
 */
export async function loadBackbone(path: string | URL = BACKBONE_URL): Promise<Backbone> {
  try {
    await Deno.stat(path);
  } catch {
    throw new BackboneError(`no backbone at ${path}: run \`deno task pretrain\` to create it`);
  }
  const { tensors, metadata } = await readSafetensorsFile(path);
  const params: ParamStore = new Map();
  const shapes = new Map<string, Shape>();
  for (const [k, values] of dequantizeAffine(tensors)) {
    const data = values.slice();
    const at = firstNonFinite(data);
    if (at >= 0) {
      throw new BackboneError(`${path}: ${k}[${at}] is ${data[at]}; not a usable backbone`);
    }
    params.set(k, data);
    shapes.set(k, tensors.get(k)!.shape);
  }
  return { params, shapes, hash: await hashParams(params), metadata };
}
