/**
 * A strict reader of TF.js layers models: the model JSON (`modelTopology`
 * with a Keras functional `model_config`, and `weightsManifest`) and its
 * weight shards. Weights are float32 tensors stored as float32, float16, or
 * uint8/uint16 with per-tensor affine quantisation (`q · scale + min`, as
 * TF.js dequantises). Each manifest group's shards are concatenated and its
 * weights laid out back to back in manifest order; the group's bytes must be
 * exactly the shards' bytes. Layer classes, weight names and shapes are
 * checked against the Keras config before any weight is decoded, and every
 * decoded value must be finite; every fault is a {@linkcode TfjsModelError} naming the file and the layer.
 * @module
 */
import { firstNonFinite } from "./finite.ts";
import { float16BitsToFloat32 } from "./half.ts";

/** What a layer's `config` holds: JSON data. */
export type TfjsJson =
  | null
  | boolean
  | number
  | string
  | readonly TfjsJson[]
  | { readonly [k: string]: TfjsJson };

/** Thrown for a model JSON or shard set that is not a valid layers model. */
export class TfjsModelError extends Error {
  /** The model JSON's or the shard's file name. */
  readonly file: string;
  /** The layer (or weight) at fault, or null for the file as a whole. */
  readonly layer: string | null;
  /** Creates the error; the message names the file and the layer. */
  constructor(file: string, layer: string | null, message: string) {
    super(`${file}${layer === null ? "" : `: layer ${layer}`}: ${message}`);
    this.name = "TfjsModelError";
    this.file = file;
    this.layer = layer;
  }
}

/** How a weight was stored in its shard. */
export type TfjsStorage = "float32" | "float16" | "uint8" | "uint16";

/** One decoded weight. */
export interface TfjsWeight {
  /** Manifest name, `layer/kernel`. */
  readonly name: string;
  /** Keras shape (`[kh,kw,in,out]` for Conv2D kernels). */
  readonly shape: readonly number[];
  /** How it was stored. */
  readonly storage: TfjsStorage;
  /** The dequantised values (what TF.js computes). */
  readonly values: Float32Array;
  /** For uint8/uint16 storage: the stored integers and their affine map. */
  readonly quantized?: {
    readonly q: Uint8Array | Uint16Array;
    readonly min: number;
    readonly scale: number;
  };
}

/** One layer of the functional model, its inputs and its weights by short name (`kernel`). */
export interface TfjsLayer {
  /** Keras layer name. */
  readonly name: string;
  /** Keras class, one of {@linkcode TFJS_LAYER_CLASSES}. */
  readonly className: TfjsLayerClass;
  /** The layer's Keras config. */
  readonly config: { readonly [k: string]: TfjsJson };
  /** Names of the layers feeding it, in argument order. */
  readonly inbound: readonly string[];
  /** Its weights by short name (`kernel`, `gamma`, `moving_mean`, …). */
  readonly weights: Readonly<Record<string, TfjsWeight>>;
}

/** A read layers model: its layers in file order (a topological order) and its outputs. */
export interface TfjsLayersModel {
  /** Every layer, in file order. */
  readonly layers: readonly TfjsLayer[];
  /** Layers by name. */
  readonly byName: ReadonlyMap<string, TfjsLayer>;
  /** Names of the output layers. */
  readonly outputs: readonly string[];
}

/** The layer classes the reader accepts, with the weights each holds. */
export const TFJS_LAYER_CLASSES = [
  "InputLayer",
  "ZeroPadding2D",
  "Conv2D",
  "DepthwiseConv2D",
  "BatchNormalization",
  "ReLU",
  "Activation",
  "Add",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "Flatten",
  "Dropout",
  "Dense",
] as const;

/** A layer class the reader accepts. */
export type TfjsLayerClass = typeof TFJS_LAYER_CLASSES[number];

/** Options of {@linkcode readTfjsLayersModel}. */
export interface TfjsReadOptions {
  /** The model JSON's file name, for errors (default `model.json`). */
  readonly file?: string;
  /** Largest accepted weight count per tensor (default 2^28). */
  readonly maxElements?: number;
}

type Obj = { readonly [k: string]: TfjsJson };

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const STORAGE_BYTES: Readonly<Record<TfjsStorage, number>> = {
  float32: 4,
  float16: 2,
  uint8: 1,
  uint16: 2,
};

/** The weights a layer must hold, by short name, with their expected shapes. */
function expectedWeights(
  layer: { name: string; className: TfjsLayerClass; config: Obj },
  fail: (msg: string) => never,
): Record<string, (shape: readonly number[]) => boolean> {
  const c = layer.config;
  const int = (k: string): number => {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      fail(`config.${k} must be a positive integer`);
    }
    return v as number;
  };
  const kernel = (): [number, number] => {
    const k = c.kernel_size;
    if (!Array.isArray(k) || k.length !== 2 || !k.every((v) => Number.isInteger(v) && v >= 1)) {
      return fail("config.kernel_size must be two positive integers");
    }
    return [k[0] as number, k[1] as number];
  };
  const bias = c.use_bias === true;
  switch (layer.className) {
    case "Conv2D": {
      const [kh, kw] = kernel();
      const f = int("filters");
      const w: Record<string, (s: readonly number[]) => boolean> = {
        kernel: (s) => s.length === 4 && s[0] === kh && s[1] === kw && s[3] === f,
      };
      if (bias) w.bias = (s) => s.length === 1 && s[0] === f;
      return w;
    }
    case "DepthwiseConv2D": {
      const [kh, kw] = kernel();
      const m = int("depth_multiplier");
      const w: Record<string, (s: readonly number[]) => boolean> = {
        depthwise_kernel: (s) => s.length === 4 && s[0] === kh && s[1] === kw && s[3] === m,
      };
      if (bias) w.bias = (s) => s.length === 1;
      return w;
    }
    case "BatchNormalization": {
      const w: Record<string, (s: readonly number[]) => boolean> = {
        moving_mean: (s) => s.length === 1,
        moving_variance: (s) => s.length === 1,
      };
      if (c.scale !== false) w.gamma = (s) => s.length === 1;
      if (c.center !== false) w.beta = (s) => s.length === 1;
      return w;
    }
    case "Dense": {
      const u = int("units");
      const w: Record<string, (s: readonly number[]) => boolean> = {
        kernel: (s) => s.length === 2 && s[1] === u,
      };
      if (bias) w.bias = (s) => s.length === 1 && s[0] === u;
      return w;
    }
    default:
      return {};
  }
}

interface Spec {
  readonly name: string;
  readonly layer: string;
  readonly short: string;
  readonly shape: readonly number[];
  readonly storage: TfjsStorage;
  readonly min: number;
  readonly scale: number;
  readonly numel: number;
}

function parseLayers(
  topology: unknown,
  file: string,
): { layers: Omit<TfjsLayer, "weights">[]; outputs: string[] } {
  const top = (msg: string): never => {
    throw new TfjsModelError(file, null, msg);
  };
  if (!isObj(topology)) top("modelTopology must be an object");
  const t = topology as Obj;
  const mc = isObj(t.model_config) ? t.model_config : t;
  if (!isObj(mc) || !isObj(mc.config)) return top("modelTopology.model_config.config missing");
  const cfg = mc.config as Obj;
  if (!Array.isArray(cfg.layers)) return top("model_config.config.layers must be an array");
  const layers: Omit<TfjsLayer, "weights">[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (cfg.layers as readonly TfjsJson[]).entries()) {
    if (!isObj(raw) || typeof raw.name !== "string" || raw.name === "") {
      return top(`layers[${i}] has no name`);
    }
    const name = raw.name;
    const fail = (msg: string): never => {
      throw new TfjsModelError(file, name, msg);
    };
    if (seen.has(name)) fail("duplicate layer name");
    const className = raw.class_name;
    if (
      typeof className !== "string" ||
      !(TFJS_LAYER_CLASSES as readonly string[]).includes(className)
    ) {
      fail(`unknown layer class ${JSON.stringify(className)}`);
    }
    if (!isObj(raw.config)) fail("config must be an object");
    const nodes = raw.inbound_nodes;
    if (!Array.isArray(nodes) || nodes.length > 1) fail("inbound_nodes must hold at most one call");
    const call = (nodes as readonly TfjsJson[])[0] ?? [];
    if (!Array.isArray(call)) return fail("inbound_nodes[0] must be an array");
    const inbound = (call as readonly TfjsJson[]).map((e) => {
      if (!Array.isArray(e) || typeof e[0] !== "string") return fail("malformed inbound node");
      if (!seen.has(e[0] as string)) fail(`input ${JSON.stringify(e[0])} is not an earlier layer`);
      return e[0] as string;
    });
    if ((className === "InputLayer") !== (inbound.length === 0)) {
      fail(className === "InputLayer" ? "an InputLayer takes no inputs" : "layer has no inputs");
    }
    if (className !== "Add" && inbound.length > 1) fail(`${className} takes one input`);
    if (className === "Add" && inbound.length < 2) fail("Add takes at least two inputs");
    seen.add(name);
    layers.push({
      name,
      className: className as TfjsLayerClass,
      config: raw.config as Obj,
      inbound,
    });
  }
  const outs = cfg.output_layers;
  if (!Array.isArray(outs) || outs.length === 0) return top("config.output_layers missing");
  const outputs = (outs as readonly TfjsJson[]).map((o) => {
    if (!Array.isArray(o) || typeof o[0] !== "string" || !seen.has(o[0] as string)) {
      return top(`output layer ${JSON.stringify(o)} is not a layer`);
    }
    return o[0] as string;
  });
  return { layers, outputs };
}

function parseSpec(raw: unknown, file: string, maxElements: number): Spec {
  if (!isObj(raw) || typeof raw.name !== "string") {
    throw new TfjsModelError(file, null, "weightsManifest entry has no name");
  }
  const name = raw.name;
  const slash = name.lastIndexOf("/");
  const layer = slash > 0 ? name.slice(0, slash) : name;
  const fail = (msg: string): never => {
    throw new TfjsModelError(file, layer, `weight ${name}: ${msg}`);
  };
  if (slash <= 0 || slash === name.length - 1) fail("name must be layer/weight");
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 1)) {
    return fail(`shape must be positive integers, got ${JSON.stringify(shape)}`);
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  if (numel > maxElements) fail(`${numel} elements exceed the limit ${maxElements}`);
  if (raw.dtype !== "float32") fail(`dtype ${JSON.stringify(raw.dtype)} is not float32`);
  let storage: TfjsStorage = "float32";
  let min = 0;
  let scale = 1;
  if (raw.quantization !== undefined) {
    const q = raw.quantization;
    if (!isObj(q)) return fail("quantization must be an object");
    if (q.dtype === "float16") storage = "float16";
    else if (q.dtype === "uint8" || q.dtype === "uint16") {
      storage = q.dtype;
      if (typeof q.min !== "number" || !Number.isFinite(q.min)) {
        fail("quantization.min must be finite");
      }
      if (typeof q.scale !== "number" || !Number.isFinite(q.scale)) {
        fail("quantization.scale must be finite");
      }
      min = q.min as number;
      scale = q.scale as number;
    } else fail(`unknown quantization dtype ${JSON.stringify(q.dtype)}`);
  }
  return {
    name,
    layer,
    short: name.slice(slash + 1),
    shape: shape as number[],
    storage,
    min,
    scale,
    numel,
  };
}

function decode(spec: Spec, bytes: Uint8Array): TfjsWeight {
  const base = { name: spec.name, shape: spec.shape, storage: spec.storage };
  const copy = bytes.slice();
  switch (spec.storage) {
    case "float32":
      return { ...base, values: new Float32Array(copy.buffer) };
    case "float16":
      return { ...base, values: float16BitsToFloat32(new Uint16Array(copy.buffer)) };
    case "uint8":
    case "uint16": {
      const q = spec.storage === "uint8" ? copy : new Uint16Array(copy.buffer);
      const values = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) values[i] = q[i] * spec.scale + spec.min;
      return { ...base, values, quantized: { q, min: spec.min, scale: spec.scale } };
    }
  }
}

/**
 * Reads a TF.js layers model from its parsed model JSON and its shards (by
 * manifest path). Validates the topology, the manifest against the layers
 * and every group's size against its shards before decoding; returns the
 * layers with their dequantised weights.
 */
export function readTfjsLayersModel(
  modelJson: unknown,
  shards: ReadonlyMap<string, Uint8Array>,
  options: TfjsReadOptions = {},
): TfjsLayersModel {
  const file = options.file ?? "model.json";
  const maxElements = options.maxElements ?? 2 ** 28;
  if (!isObj(modelJson)) throw new TfjsModelError(file, null, "model JSON must be an object");
  const { layers, outputs } = parseLayers(modelJson.modelTopology, file);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const manifest = modelJson.weightsManifest;
  if (!Array.isArray(manifest)) {
    throw new TfjsModelError(file, null, "weightsManifest must be an array");
  }
  const specs = new Map<string, Spec>();
  const groups: { specs: Spec[]; paths: string[] }[] = [];
  for (const [g, group] of (manifest as readonly TfjsJson[]).entries()) {
    if (!isObj(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new TfjsModelError(file, null, `weightsManifest[${g}] needs paths and weights`);
    }
    const paths = (group.paths as readonly TfjsJson[]).map((p) => {
      if (typeof p !== "string") {
        throw new TfjsModelError(file, null, `weightsManifest[${g}]: bad path`);
      }
      return p;
    });
    const list = (group.weights as readonly TfjsJson[]).map((w) => parseSpec(w, file, maxElements));
    for (const s of list) {
      if (specs.has(s.name)) {
        throw new TfjsModelError(file, s.layer, `weight ${s.name} listed twice`);
      }
      const layer = byName.get(s.layer);
      if (!layer) throw new TfjsModelError(file, s.layer, `weight ${s.name} belongs to no layer`);
      specs.set(s.name, s);
    }
    groups.push({ specs: list, paths });
  }
  for (const layer of layers) {
    const fail = (msg: string): never => {
      throw new TfjsModelError(file, layer.name, msg);
    };
    const want = expectedWeights(layer, fail);
    const have = [...specs.values()].filter((s) => s.layer === layer.name);
    for (const s of have) {
      const ok = want[s.short];
      if (!ok) fail(`unexpected weight ${s.name} for a ${layer.className}`);
      if (!ok(s.shape)) {
        fail(`weight ${s.name} has shape [${s.shape}], which does not fit the config`);
      }
    }
    for (const k of Object.keys(want)) {
      if (!have.some((s) => s.short === k)) {
        fail(`weight ${layer.name}/${k} missing from the manifest`);
      }
    }
  }
  const weights = new Map<string, TfjsWeight>();
  for (const { specs: list, paths } of groups) {
    const parts = paths.map((p) => {
      const b = shards.get(p);
      if (!b) throw new TfjsModelError(p, null, `shard missing (listed by ${file})`);
      return b;
    });
    const need = list.reduce((s, w) => s + w.numel * STORAGE_BYTES[w.storage], 0);
    const have = parts.reduce((s, b) => s + b.byteLength, 0);
    if (need !== have) {
      throw new TfjsModelError(
        paths.join("+") || file,
        null,
        `shards hold ${have} bytes, the manifest lays out ${need}`,
      );
    }
    const all = new Uint8Array(have);
    let at = 0;
    for (const b of parts) all.set(b, at), at += b.byteLength;
    at = 0;
    for (const s of list) {
      const n = s.numel * STORAGE_BYTES[s.storage];
      const w = decode(s, all.subarray(at, at + n));
      const bad = firstNonFinite(w.values);
      if (bad >= 0) {
        throw new TfjsModelError(
          paths.join("+"),
          s.layer,
          `weight ${s.name}[${bad}] is ${w.values[bad]} (as ${s.storage}); weights must be finite`,
        );
      }
      weights.set(s.name, w);
      at += n;
    }
  }
  const full = layers.map((l) => {
    const w: Record<string, TfjsWeight> = {};
    for (const s of specs.values()) if (s.layer === l.name) w[s.short] = weights.get(s.name)!;
    return { ...l, weights: w };
  });
  return { layers: full, byName: new Map(full.map((l) => [l.name, l])), outputs };
}
