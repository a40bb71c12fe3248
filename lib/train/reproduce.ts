/**
 * Re-evaluating a final checkpoint of `deno task train` from its run record
 * alone: the backbone by name from the registry, the built-in method with
 * its DA³ options, the classes and input side, the backbone's weights and
 * the checkpoint's per-domain parameters; the fit, validation and test sets
 * re-created as the run drew them (checked against the record's example
 * count and data digest), evaluated on the CPU runtime.
 * @module
 */
import { type Da3Options, type MethodName, METHODS } from "../adapt/mod.ts";
import { channelStats, loadDomain } from "../data/mod.ts";
import {
  CheckpointError,
  type JsonValue,
  loadCheckpoint,
  type RunRecord,
} from "../io/checkpoint.ts";
import { readSafetensorsFile } from "../io/safetensors.ts";
import type { MobilenetV2Cut } from "../models/mod.ts";
import { cpuRuntime } from "../runtime/cpu/mod.ts";
import { quantizingRuntime } from "../runtime/quantize_feeds.ts";
import type { ParamStorage, ScaleGranularity } from "../graph/mod.ts";
import { BACKBONE_NAMES, type BackboneName, selectBackbone } from "./backbones.ts";
import { methodGraphs } from "./domain.ts";
import { type DataRecord, fitAndValidation, testSubset } from "./run.ts";
import { dataDigest, evaluate } from "./train.ts";

/** Thrown when a checkpoint's run record cannot re-create its run; names the file and the field. */
export class ReproduceError extends CheckpointError {
  /** The checkpoint file. */
  readonly path: string;
  /** The run record's field at fault, dotted (e.g. `config.data.origin`). */
  readonly field: string;
  /** Creates the error. */
  constructor(path: string, field: string, why: string) {
    super(`${path}: run record field ${field}: ${why}; the run cannot be re-created`);
    this.name = "ReproduceError";
    this.path = path;
    this.field = field;
  }
}

/** The accuracies a checkpoint's parameters reach, re-measured. */
export interface Reproduced {
  /** Test top-1 in [0, 1]. */
  readonly top1: number;
  /** Validation top-1 in [0, 1] (undefined when the run held out no validation split). */
  readonly valTop1?: number;
}

/** A reader of typed fields of `run`, each absent or mistyped field a {@linkcode ReproduceError}. */
function fields(path: string, run: RunRecord) {
  const at = (field: string): JsonValue | undefined => {
    let v: JsonValue | undefined = run;
    for (const k of field.split(".")) {
      v = typeof v === "object" && v !== null && !Array.isArray(v)
        ? (v as Record<string, JsonValue>)[k]
        : undefined;
    }
    return v;
  };
  const need = <T>(field: string, ok: (v: JsonValue) => boolean, what: string): T => {
    const v = at(field);
    if (v === undefined) throw new ReproduceError(path, field, "missing");
    if (!ok(v)) throw new ReproduceError(path, field, `${JSON.stringify(v)} is not ${what}`);
    return v as T;
  };
  const count = (field: string) =>
    need<number>(field, (v) => Number.isInteger(v) && (v as number) >= 0, "a count");
  const countOrNull = (field: string) =>
    need<number | null>(
      field,
      (v) => v === null || (Number.isInteger(v) && (v as number) > 0),
      "a count or null",
    );
  const string = (field: string) => need<string>(field, (v) => typeof v === "string", "a string");
  return { at, need, count, countOrNull, string };
}

/**
 * Re-measures the test and validation top-1 of the final checkpoint at
 * `path` (written by `deno task train`) from its run record: the backbone
 * (`config.backbone`), method and `da3` options, `classes`, `batch`, frozen
 * storage, and the sets (`config.data`: origin, validation split, limits;
 * `seed`), the fit set checked against `examples` and `data`. Throws
 * {@linkcode ReproduceError} naming the file and field when the record lacks
 * what is needed or the re-created data differ; a cache-trained run needs
 * the prepared cache.
 */
export async function reproduceCheckpoint(path: string): Promise<Reproduced> {
  const { metadata } = await readSafetensorsFile(path);
  if (metadata.run === undefined) throw new ReproduceError(path, "run", "missing (no run record)");
  const run = JSON.parse(metadata.run) as RunRecord;
  const f = fields(path, run);
  const method = f.need<MethodName>(
    "method",
    (v) => typeof v === "string" && v in METHODS,
    `a built-in method (${Object.keys(METHODS).join(", ")})`,
  );
  const name = f.need<BackboneName>(
    "config.backbone.name",
    (v) => (BACKBONE_NAMES as readonly JsonValue[]).includes(v),
    `a backbone (${BACKBONE_NAMES.join(", ")})`,
  );
  const size = f.count("config.backbone.size");
  const cut = f.at("config.backbone.cut") as MobilenetV2Cut | undefined;
  const frozenWeights = (f.at("frozenWeights") ?? "f32") as ParamStorage;
  const frozenScales = (f.at("frozenScales") ?? "channel") as ScaleGranularity;
  const arch = selectBackbone({ backbone: name, size, ...(cut ? { cut } : {}), frozenWeights });
  const data: DataRecord = {
    origin: f.need(
      "config.data.origin",
      (v) => v === "embedded" || v === "cache",
      "embedded or cache",
    ),
    validation: f.need(
      "config.data.validation",
      (v) => typeof v === "number" && v >= 0,
      "a fraction or count",
    ),
    validationSeed: f.count("config.data.validationSeed"),
    limit: f.countOrNull("config.data.limit"),
    testLimit: f.countOrNull("config.data.testLimit"),
  };
  const seed = f.count("seed"), batch = f.count("batch"), classes = f.count("classes");
  const examples = f.count("examples"), digest = f.string("data");
  const domain = f.string("domain");
  const da3 = (f.at("da3") ?? {}) as Da3Options;

  const split = await loadDomain(domain, { origin: data.origin, size: arch.size });
  const { fit, validation } = fitAndValidation(split.train, {
    data: data.origin,
    validation: data.validation,
    validationSeed: data.validationSeed,
    limit: data.limit ?? undefined,
    seed,
  });
  if (fit.labels.length !== examples) {
    throw new ReproduceError(
      path,
      "examples",
      `${examples}, but the re-created fit set has ${fit.labels.length}`,
    );
  }
  if (await dataDigest(fit) !== digest) {
    throw new ReproduceError(path, "data", "the re-created fit set's digest differs (other data)");
  }
  const bb = await arch.load();
  const c = await loadCheckpoint(path, bb.hash);
  const graphs = methodGraphs(method, classes, batch, {
    da3: method === "da3" ? da3 : undefined,
    frozenWeights: arch.frozenWeights,
    frozenScales,
    model: arch.model,
  });
  const params = new Map([...bb.params, ...c.params]);
  const runtime = arch.frozenWeights === "f32" ? cpuRuntime : quantizingRuntime(cpuRuntime);
  const stats = channelStats(fit);
  const test = testSubset(split.test, data.testLimit ?? undefined);
  const top1 = await evaluate(runtime, graphs.eval, params, test, stats, batch);
  if (validation.labels.length === 0) return { top1 };
  return { top1, valTop1: await evaluate(runtime, graphs.eval, params, validation, stats, batch) };
}
