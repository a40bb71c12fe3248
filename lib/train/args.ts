/**
 * Command-line flags of `deno task train` (and `deno task pretrain`) → a
 * validated {@linkcode TrainConfig}, read with da3's one flag parser. A literal
 * `--` (as `deno task train -- --epochs 3` forwards it) is ignored. Every
 * invalid value is a UsageError naming its flag (`--epochs must be ≥ 1; got
 * "-1"`), or its field and file when it came from `--config`.
 * @module
 */
import { issueLines, type RawFlags, readFlags, UsageError } from "../cli/flags.ts";
import { EXIT_CODES_HELP, InputError, parseInputJson, readInputText } from "../cli/run.ts";
import { MOBILENET_V2_CUTS } from "../models/mod.ts";
import { BACKBONE_NAMES } from "./backbones.ts";
import { METHOD_NAMES, type TrainConfig, TrainConfigSchema } from "./config.ts";

/** The flags and the config field each sets. */
const FLAGS = {
  backbone: { type: "string", field: ["backbone"] },
  size: { type: "string", field: ["size"] },
  cut: { type: "string", field: ["cut"] },
  method: { type: "string", field: ["method"] },
  domains: { type: "string", field: ["domains"] },
  epochs: { type: "string", field: ["epochs"] },
  batch: { type: "string", field: ["batch"] },
  lr: { type: "string", field: ["lr"] },
  schedule: { type: "string", field: ["schedule"] },
  warmup: { type: "string", field: ["warmup"] },
  optimizer: { type: "string", field: ["optimizer"] },
  backend: { type: "string", field: ["backend"] },
  "budget-mb": { type: "string", field: ["budgetMb"] },
  out: { type: "string", field: ["out"] },
  seed: { type: "string", field: ["seed"] },
  resume: { type: "boolean", field: ["resume"] },
  limit: { type: "string", field: ["limit"] },
  "test-limit": { type: "string", field: ["testLimit"] },
  validation: { type: "string", field: ["validation"] },
  "validation-seed": { type: "string", field: ["validationSeed"] },
  "head-init": { type: "string", field: ["headInit"] },
  "weight-decay": { type: "string", field: ["weightDecay"] },
  data: { type: "string", field: ["data"] },
  "bn-stats": { type: "string", field: ["bnStats"] },
  augment: { type: "string", field: ["augment"] },
  "gate-sparsity": { type: "string", field: ["gateSparsity"] },
  "frozen-weights": { type: "string", field: ["frozenWeights"] },
  "da3-reduction": { type: "string", field: ["da3", "reduction"] },
  "da3-spatial": { type: "boolean", field: ["da3", "spatial"] },
  "da3-placement": { type: "string", field: ["da3", "placement"] },
  "da3-source": { type: "string", field: ["da3", "source"] },
  "da3-grid": { type: "string", field: ["da3", "grid"] },
  "da3-stages": { type: "string", field: ["da3", "stages"] },
  "da3-lr-scale": { type: "string", field: ["da3", "lrScale"] },
  "da3-stem": { type: "boolean", field: ["da3", "stem"] },
  config: { type: "string", field: [] },
  help: { type: "boolean", short: "h", field: [] },
} as const;

function num(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && v.trim() !== "" ? n : v;
}

function list(v: string | undefined, all?: readonly string[]): string[] | undefined {
  if (v === undefined) return undefined;
  return v === "all" && all ? [...all] : v.split(",").map((s) => s.trim()).filter(Boolean);
}

/** `o` without its undefined fields, or undefined when none is left. */
function defined(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const kept = Object.entries(o).filter(([, v]) => v !== undefined);
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The flags' raw values, keyed like {@linkcode TrainConfig}; unknown flags throw UsageError. */
export function flagsToRaw(
  args: readonly string[],
): { raw: Record<string, unknown>; flags: RawFlags; config?: string; help: boolean } {
  const flags = readFlags(args, FLAGS);
  const values = flags as Record<string, string | undefined>;
  const on = (k: string) => flags[k] as boolean | undefined;
  const raw: Record<string, unknown> = {
    backbone: values.backbone,
    size: num(values.size),
    cut: values.cut,
    method: list(values.method, METHOD_NAMES),
    domains: list(values.domains),
    epochs: num(values.epochs),
    batch: num(values.batch),
    lr: num(values.lr),
    schedule: values.schedule,
    warmup: num(values.warmup),
    optimizer: values.optimizer,
    backend: values.backend,
    budgetMb: num(values["budget-mb"]),
    out: values.out,
    seed: num(values.seed),
    resume: on("resume"),
    limit: num(values.limit),
    testLimit: num(values["test-limit"]),
    validation: num(values.validation),
    validationSeed: num(values["validation-seed"]),
    headInit: values["head-init"],
    weightDecay: num(values["weight-decay"]),
    data: values.data,
    gateSparsity: num(values["gate-sparsity"]),
    frozenWeights: values["frozen-weights"],
    bnStats: values["bn-stats"],
    augment: values.augment,
    da3: defined({
      reduction: num(values["da3-reduction"]),
      spatial: on("da3-spatial"),
      placement: values["da3-placement"],
      source: values["da3-source"],
      grid: num(values["da3-grid"]),
      stages: list(values["da3-stages"])?.map((v) => num(v)),
      lrScale: num(values["da3-lr-scale"]),
      stem: on("da3-stem"),
    }),
  };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  return { raw, flags, config: values.config, help: on("help") ?? false };
}

function at(o: unknown, path: readonly PropertyKey[]): unknown {
  let v = o;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The flag whose field is the longest prefix of `path`, e.g. `da3-stages` for `da3.stages.0`. */
function flagOfField(path: readonly PropertyKey[]): string | undefined {
  let best: string | undefined, len = 0;
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const f = spec.field as readonly string[];
    if (f.length > len && f.every((k, i) => path[i] === k)) [best, len] = [flag, f.length];
  }
  return best;
}

/**
 * Validates the merged config; each issue names the flag that set the field,
 * or the field and the config file it came from.
 */
function validate(
  merged: Record<string, unknown>,
  raw: Record<string, unknown>,
  flags: RawFlags,
  config: string | undefined,
): TrainConfig {
  const r = TrainConfigSchema.safeParse(merged);
  if (r.success) return r.data;
  const fromFlag = (p: readonly PropertyKey[]) => p.length > 0 && at(raw, p) !== undefined;
  const name = (p: readonly PropertyKey[]) => {
    if (p.length === 1 && p[0] === "da3" && raw.da3) {
      return Object.keys(raw.da3).map((k) => `--${flagOfField(["da3", k])}`).join(", ");
    }
    const flag = fromFlag(p) ? flagOfField(p) : undefined;
    if (flag) return `--${flag}`;
    const field = p.length > 0 ? p.join(".") : "the config";
    return config ? `${field} (in ${config})` : field;
  };
  const got = (p: readonly PropertyKey[]) => {
    const flag = fromFlag(p) ? flagOfField(p) : undefined;
    return flag ? flags[flag] : at(merged, p);
  };
  const lines = issueLines(r.error.issues, name, got);
  const first = r.error.issues[0].path;
  const flag = fromFlag(first) ? flagOfField(first) : undefined;
  throw new UsageError(lines.join("\n"), flag && `--${flag}`);
}

/**
 * Reads flags and an optional `--config file.json` (flags win) into a
 * validated config; `base` holds fields under both (e.g. another task's
 * backbone).
 */
export async function trainConfigFromArgs(
  args: readonly string[],
  base: Readonly<Record<string, unknown>> = {},
): Promise<TrainConfig | "help"> {
  const { raw, flags, config, help } = flagsToRaw(args);
  if (help) return "help";
  let file: Record<string, unknown> = {};
  if (config) {
    const hint = "pass a JSON file of training fields to --config (see --help)";
    const text = await readInputText(config, "config", hint);
    const json = parseInputJson(text, config, "config", hint);
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      const what = Array.isArray(json) ? "an array" : JSON.stringify(json);
      throw new InputError(config, `config file holds ${what}, not a JSON object`, hint);
    }
    file = json as Record<string, unknown>;
  }
  const da3 = file.da3 && raw.da3 ? { da3: { ...file.da3 as object, ...raw.da3 as object } } : {};
  return validate({ ...base, ...file, ...raw, ...da3 }, raw, flags, config);
}

/** Usage text of `deno task <task>` (train, or pretrain, which reads the same flags). */
export function usage(task = "train"): string {
  return USAGE.replace("deno task train", `deno task ${task}`);
}

/** Usage text of `deno task train`. */
export const USAGE = `usage: deno task train [--backbone ${BACKBONE_NAMES.join("|")}]
  [--size N (input side; default 32)]
  [--cut ${MOBILENET_V2_CUTS.join("|")} (mobilenetv2 only; default block_10)]
  (unset --epochs, --lr, --head-init, --bn-stats, --frozen-weights take the backbone's defaults:
    mobilenetv2 6, 1e-3, probe, domain, u8; resnet20-mnist 2, 1e-3, normal, source, f32)
  [--method ${METHOD_NAMES.join("|")}|all[,..]]
  [--domains a,b] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
  [--schedule constant|cosine (the rate after warm-up; cosine decays it towards 0 by the last step;
    default constant, chosen on validation: docs/results.md)]
  [--warmup N (optimizer steps of linear warm-up from lr/N to lr; default 0)]
  [--backend auto|webgpu|cpu] [--budget-mb MB] [--out DIR] [--seed N] [--resume]
  [--limit N (training examples per domain)] [--test-limit N] [--data embedded|cache] [--bn-stats source|domain]
  [--validation f|N (held out of training for model selection; default 0.2)] [--validation-seed N]
  [--head-init normal|zeros|probe] [--weight-decay λ]
  [--augment domain|none (training batches: the domain's shifts/flips, or none; default domain)]
  [--gate-sparsity λ (DA³: train adaptors that close gates)]
  [--frozen-weights f32|f16|u8 (frozen conv/linear weights' storage in the kernels; default
    the backbone's: f32 for resnet20-mnist, u8 for mobilenetv2)]
  [--da3-reduction r] [--da3-spatial] [--da3-placement every|last] [--da3-source pair|block]
  [--da3-grid g] [--da3-stages k[,k]] [--da3-lr-scale s] [--da3-stem]
  [--config file.json]
${EXIT_CODES_HELP}`;
