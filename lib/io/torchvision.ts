/**
 * Importing a torchvision ResNet state dict (e.g. read from safetensors)
 * into a da3 {@linkcode ParamStore} for a model built with `lib/models`:
 * da3 uses torchvision's parameter names, so the mapping is by name, with
 * every shape checked and every value finite.
 * @module
 */
import { type Graph, params, showShape } from "../graph/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { firstNonFinite } from "./finite.ts";
import { readSafetensorsFile, type SafetensorsTensor, toFloat32Array } from "./safetensors.ts";

/** Why an import failed. */
export type TorchvisionImportIssue = "shape" | "dtype" | "missing" | "nonfinite";

/** Thrown when a state dict does not fit the model; names the file, the tensor and what was wrong. */
export class TorchvisionImportError extends Error {
  /** The state-dict key or parameter name at fault. */
  readonly tensor: string;
  /** What was wrong with it. */
  readonly issue: TorchvisionImportIssue;
  /** The file the state dict came from, when known. */
  readonly file: string | undefined;
  /** Creates the error. */
  constructor(tensor: string, issue: TorchvisionImportIssue, message: string, file?: string) {
    super(`torchvision import${file === undefined ? "" : ` of ${file}`}: ${tensor}: ${message}`);
    this.name = "TorchvisionImportError";
    this.tensor = tensor;
    this.issue = issue;
    this.file = file;
  }
}

/** Options of {@linkcode importTorchvision}. */
export interface TorchvisionImportOptions {
  /** `load` the state dict's `fc.*` (shapes must match) or leave a `new` head (default `load`). */
  readonly head?: "load" | "new";
  /**
   * Parameter names the state dict must hold (default: every model parameter
   * that is not the head and not an adaptor's, i.e. whose name has no
   * segment beyond torchvision's scheme). Missing ones throw.
   */
  readonly required?: (name: string) => boolean;
  /** The file the state dict was read from, named in errors. */
  readonly file?: string;
}

/** What {@linkcode importTorchvision} returns. */
export interface TorchvisionImport {
  /** Values for the model parameters found in the state dict. */
  readonly params: ParamStore;
  /** Model parameters the state dict does not hold (adaptors, a new head). */
  readonly missing: readonly string[];
  /** State-dict keys the model does not use (e.g. `num_batches_tracked`). */
  readonly unused: readonly string[];
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/** True for names in torchvision's ResNet scheme (`conv1.weight`, `layer1.0.downsample.1.bias`, …). */
export function isTorchvisionResnetName(name: string): boolean {
  return /^(conv1|bn1|fc|layer\d+\.\d+\.(conv\d+|bn\d+|downsample\.[01]))\.(weight|bias|running_mean|running_var)$/
    .test(name);
}

/**
 * Maps a torchvision state dict onto the parameters of graph `g` by name,
 * widening F16/BF16 to f32 and checking every shape; a NaN or ±Infinity in
 * a used tensor is refused (issue `nonfinite`).
 */
export function importTorchvision(
  stateDict: ReadonlyMap<string, SafetensorsTensor>,
  g: Graph,
  options: TorchvisionImportOptions = {},
): TorchvisionImport {
  const head = options.head ?? "load";
  const required = options.required ??
    ((n: string) => isTorchvisionResnetName(n) && (head === "load" || !n.startsWith("fc.")));
  const file = options.file;
  const out: ParamStore = new Map();
  const missing: string[] = [];
  const used = new Set<string>();
  for (const p of params(g)) {
    const name = String(p.attrs.name);
    const t = head === "new" && name.startsWith("fc.") ? undefined : stateDict.get(name);
    if (!t) {
      if (required(name)) {
        throw new TorchvisionImportError(
          name,
          "missing",
          `the model needs ${showShape(p.shape)} but the state dict has no such key`,
          file,
        );
      }
      missing.push(name);
      continue;
    }
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new TorchvisionImportError(
        name,
        "dtype",
        `expected a float tensor, got ${t.dtype}`,
        file,
      );
    }
    const same = t.shape.length === p.shape.length && t.shape.every((d, i) => d === p.shape[i]);
    if (!same) {
      throw new TorchvisionImportError(
        name,
        "shape",
        `the model expects ${showShape(p.shape)}, the state dict holds ${showShape(t.shape)}`,
        file,
      );
    }
    const values = Float32Array.from(toFloat32Array(t));
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new TorchvisionImportError(
        name,
        "nonfinite",
        `holds ${values[bad]} at index ${bad}; weights must be finite`,
        file,
      );
    }
    out.set(name, values);
    used.add(name);
  }
  const unused = [...stateDict.keys()].filter((k) => !used.has(k));
  return { params: out, missing, unused };
}

/**
 * Reads a torchvision state dict from a safetensors file and imports it as
 * {@linkcode importTorchvision} does, errors naming the file. A malformed
 * file (duplicate tensor names included) throws `SafetensorsError`.
 */
export async function importTorchvisionFile(
  path: string,
  g: Graph,
  options: Omit<TorchvisionImportOptions, "file"> = {},
): Promise<TorchvisionImport> {
  const { tensors } = await readSafetensorsFile(path);
  return importTorchvision(tensors, g, { ...options, file: path });
}
