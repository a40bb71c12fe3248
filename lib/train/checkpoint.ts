/**
 * Per-domain checkpoints: only the domain's trainable parameters (plus any
 * optimizer state for resuming) and metadata naming the method, domain and
 * the hash of the frozen backbone they belong to. Written atomically.
 * @module
 */
import {
  readSafetensorsFile,
  type SafetensorsTensor,
  toFloat32Array,
  writeSafetensorsFileAtomic,
} from "../io/safetensors.ts";
import type { Da3Options } from "../adapt/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { parseDa3Options } from "./config.ts";

/** Metadata stored with every checkpoint (all strings on disk). */
export interface CheckpointMeta {
  /** Adaptation method. */
  readonly method: string;
  /** Target domain. */
  readonly domain: string;
  /** SHA-256 of the frozen backbone the parameters adapt. */
  readonly backbone: string;
  /** Completed epochs. */
  readonly epoch: number;
  /** Test top-1 in [0, 1], when evaluated. */
  readonly top1?: number;
  /** The method's design options (DA³'s), when not all defaults. */
  readonly options?: Da3Options;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  /** Metadata. */
  readonly meta: CheckpointMeta;
  /** The domain's parameters by name. */
  readonly params: ParamStore;
  /** Saved optimizer/loop state by name (empty for final checkpoints). */
  readonly state: Map<string, Float32Array>;
}

/** Thrown for a checkpoint that does not belong to this backbone or is malformed. */
export class CheckpointError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const STATE = "state/";

/** SHA-256 (hex) of parameters: names, shapes and bytes, in name order. */
export async function hashParams(params: ParamStore): Promise<string> {
  const names = [...params.keys()].sort();
  const enc = new TextEncoder();
  const parts = names.flatMap((n) => {
    const v = params.get(n)!;
    return [enc.encode(`${n}:${v.length};`), new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];
  });
  const total = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    total.set(p, at);
    at += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", total);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function f32(data: Float32Array): SafetensorsTensor {
  return { dtype: "F32", shape: [data.length], data };
}

function checkpointOptions(path: string, json: string): Da3Options {
  try {
    return parseDa3Options(json);
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
}

/** Writes a checkpoint atomically (temporary file, then rename). */
export async function saveCheckpoint(
  path: string,
  meta: CheckpointMeta,
  params: ParamStore,
  state: ReadonlyMap<string, Float32Array> = new Map(),
): Promise<void> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [k, v] of params) tensors.set(k, f32(v));
  for (const [k, v] of state) tensors.set(STATE + k, f32(v));
  const metadata: Record<string, string> = {
    format: "da3-checkpoint-1",
    method: meta.method,
    domain: meta.domain,
    backbone: meta.backbone,
    epoch: String(meta.epoch),
  };
  if (meta.top1 !== undefined) metadata.top1 = String(meta.top1);
  if (meta.options && Object.keys(meta.options).length > 0) {
    metadata.options = JSON.stringify(meta.options);
  }
  await writeSafetensorsFileAtomic(path, tensors, metadata);
}

/**
 * Reads a checkpoint and checks that it adapts the backbone with hash
 * `backbone` (a mismatch is a CheckpointError naming both hashes).
 */
export async function loadCheckpoint(path: string, backbone: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  if (metadata.format !== "da3-checkpoint-1") {
    throw new CheckpointError(`${path} is not a da3 checkpoint (format ${metadata.format})`);
  }
  if (metadata.backbone !== backbone) {
    throw new CheckpointError(
      `${path} adapts backbone ${metadata.backbone.slice(0, 12)}…, not this backbone ${
        backbone.slice(0, 12)
      }…`,
    );
  }
  const params: ParamStore = new Map(), state = new Map<string, Float32Array>();
  for (const [k, t] of tensors) {
    if (k.startsWith(STATE)) state.set(k.slice(STATE.length), toFloat32Array(t).slice());
    else params.set(k, toFloat32Array(t).slice());
  }
  const meta: CheckpointMeta = {
    method: metadata.method,
    domain: metadata.domain,
    backbone: metadata.backbone,
    epoch: Number(metadata.epoch),
    ...(metadata.top1 !== undefined ? { top1: Number(metadata.top1) } : {}),
    ...(metadata.options !== undefined
      ? { options: checkpointOptions(path, metadata.options) }
      : {}),
  };
  return { meta, params, state };
}
