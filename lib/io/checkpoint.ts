/**
 * Per-domain checkpoints: only the domain's parameters (plus any optimizer
 * and loop state for resuming), each with its real shape and torchvision-style
 * name, and metadata naming the method, domain, the hash of the frozen
 * backbone they belong to and the run that wrote them. Written atomically and
 * only when every value is finite; a non-finite value in a file is refused on
 * reading.
 * @module
 */
import { type Da3Options, parseDa3Options } from "../adapt/da3_options.ts";
import type { Shape } from "../graph/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { firstNonFinite, NonFiniteError } from "./finite.ts";
import {
  readSafetensorsFile,
  type SafetensorsTensor,
  toFloat32Array,
  writeSafetensorsFileAtomic,
} from "./safetensors.ts";

/** A JSON value as stored in checkpoint metadata. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A run's configuration as stored with its checkpoints (plain JSON, field by field). */
export type RunRecord = { readonly [field: string]: JsonValue };

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
  /** Validation top-1 in [0, 1] (the split held out of the training data), when evaluated. */
  readonly valTop1?: number;
  /** The method's design options (DA³'s), when not all defaults. */
  readonly options?: Da3Options;
  /** The configuration of the run that wrote the checkpoint (resuming compares it). */
  readonly run?: RunRecord;
}

/** A tensor with its shape; a bare `Float32Array` is stored as a vector. */
export interface ShapedTensor {
  /** Its shape (the product is `data.length`). */
  readonly shape: Shape;
  /** Its values. */
  readonly data: Float32Array;
}

/** What a checkpoint stores by name: shaped tensors, or bare arrays stored as vectors. */
export type CheckpointTensors = ReadonlyMap<string, Float32Array | ShapedTensor>;

/** A loaded checkpoint. */
export interface Checkpoint {
  /** Metadata. */
  readonly meta: CheckpointMeta;
  /** The domain's parameters by name. */
  readonly params: ParamStore;
  /** The stored shape of every parameter. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** Saved optimizer/loop state by name (empty for final checkpoints). */
  readonly state: Map<string, Float32Array>;
}

/** Thrown for a checkpoint that does not belong to this backbone or is malformed; names the file. */
export class CheckpointError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const STATE = "state/";
const FORMAT = "da3-checkpoint-1";

/** SHA-256 (hex) of parameters: names, lengths and bytes, in name order. */
export async function hashParams(params: ReadonlyMap<string, Float32Array>): Promise<string> {
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

function stored(path: string, name: string, t: Float32Array | ShapedTensor): SafetensorsTensor {
  const { shape, data } = t instanceof Float32Array ? { shape: [t.length], data: t } : t;
  if (shape.reduce((a, d) => a * d, 1) !== data.length) {
    throw new CheckpointError(`${path}: ${name} has ${data.length} values, not shape [${shape}]`);
  }
  const at = firstNonFinite(data);
  if (at >= 0) throw new NonFiniteError(`${path}: ${name}`, at, data[at], "checkpoint not written");
  return { dtype: "F32", shape, data };
}

/**
 * Writes a checkpoint atomically (temporary file, then rename), after
 * checking that every value is finite (a NonFiniteError leaves `path` as it was).
 */
export async function saveCheckpoint(
  path: string,
  meta: CheckpointMeta,
  params: CheckpointTensors,
  state: CheckpointTensors = new Map(),
): Promise<void> {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [k, v] of params) tensors.set(k, stored(path, k, v));
  for (const [k, v] of state) tensors.set(STATE + k, stored(path, STATE + k, v));
  for (const [field, v] of [["top1", meta.top1], ["valTop1", meta.valTop1]] as const) {
    if (v !== undefined && !Number.isFinite(v)) {
      throw new NonFiniteError(`${path}: ${field}`, 0, v, "checkpoint not written");
    }
  }
  const metadata: Record<string, string> = {
    format: FORMAT,
    method: meta.method,
    domain: meta.domain,
    backbone: meta.backbone,
    epoch: String(meta.epoch),
  };
  if (meta.top1 !== undefined) metadata.top1 = String(meta.top1);
  if (meta.valTop1 !== undefined) metadata.valTop1 = String(meta.valTop1);
  if (meta.options && Object.keys(meta.options).length > 0) {
    metadata.options = JSON.stringify(meta.options);
  }
  if (meta.run) metadata.run = JSON.stringify(meta.run);
  await writeSafetensorsFileAtomic(path, tensors, metadata);
}

function checkpointOptions(path: string, json: string): Da3Options {
  try {
    return parseDa3Options(json);
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
}

function checkpointRun(path: string, json: string): RunRecord {
  let run: unknown;
  try {
    run = JSON.parse(json);
  } catch (e) {
    throw new CheckpointError(`${path}: run configuration: ${(e as Error).message}`);
  }
  if (typeof run !== "object" || run === null || Array.isArray(run)) {
    throw new CheckpointError(`${path}: run configuration is not a JSON object`);
  }
  return run as RunRecord;
}

/**
 * Reads a checkpoint and checks that it adapts the backbone with hash
 * `backbone` (a mismatch is a CheckpointError naming both hashes), that its
 * metadata names the method and domain, and that every stored value is finite.
 */
export async function loadCheckpoint(path: string, backbone: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  if (metadata.format !== FORMAT) {
    throw new CheckpointError(`${path} is not a da3 checkpoint (format ${metadata.format})`);
  }
  if (metadata.backbone !== backbone) {
    throw new CheckpointError(
      `${path} adapts backbone ${String(metadata.backbone).slice(0, 12)}…, not this backbone ${
        backbone.slice(0, 12)
      }…`,
    );
  }
  for (const field of ["method", "domain"]) {
    if (metadata[field] === undefined) {
      throw new CheckpointError(`${path}: the metadata has no ${field}`);
    }
  }
  const epoch = Number(metadata.epoch);
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new CheckpointError(`${path}: epoch ${JSON.stringify(metadata.epoch)} is not a count`);
  }
  const params: ParamStore = new Map(), state = new Map<string, Float32Array>();
  const shapes = new Map<string, Shape>();
  for (const [k, t] of tensors) {
    const data = toFloat32Array(t).slice();
    const at = firstNonFinite(data);
    if (at >= 0) {
      throw new CheckpointError(`${path}: ${k}[${at}] is ${data[at]}; the checkpoint is refused`);
    }
    if (k.startsWith(STATE)) state.set(k.slice(STATE.length), data);
    else {
      params.set(k, data);
      shapes.set(k, t.shape);
    }
  }
  const figure = (field: "top1" | "valTop1") => {
    const v = metadata[field] === undefined ? undefined : Number(metadata[field]);
    if (v !== undefined && !Number.isFinite(v)) {
      throw new CheckpointError(`${path}: ${field} ${metadata[field]} is not finite`);
    }
    return v;
  };
  const top1 = figure("top1"), valTop1 = figure("valTop1");
  const meta: CheckpointMeta = {
    method: metadata.method,
    domain: metadata.domain,
    backbone: metadata.backbone,
    epoch,
    ...(top1 !== undefined ? { top1 } : {}),
    ...(valTop1 !== undefined ? { valTop1 } : {}),
    ...(metadata.options !== undefined
      ? { options: checkpointOptions(path, metadata.options) }
      : {}),
    ...(metadata.run !== undefined ? { run: checkpointRun(path, metadata.run) } : {}),
  };
  return { meta, params, shapes, state };
}
