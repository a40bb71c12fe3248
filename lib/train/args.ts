/**
 * Command-line flags of `deno task train` → raw config data for
 * {@linkcode parseTrainConfig}. A literal `--` before the flags (as `deno
 * task train -- --epochs 3` forwards it) is accepted.
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, METHOD_NAMES, parseTrainConfig, type TrainConfig } from "./config.ts";

const FLAGS = {
  method: { type: "string" },
  domains: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  lr: { type: "string" },
  optimizer: { type: "string" },
  backend: { type: "string" },
  "budget-mb": { type: "string" },
  out: { type: "string" },
  seed: { type: "string" },
  resume: { type: "boolean" },
  limit: { type: "string" },
  data: { type: "string" },
  "bn-stats": { type: "string" },
  "gate-sparsity": { type: "string" },
  "da3-reduction": { type: "string" },
  "da3-spatial": { type: "boolean" },
  "da3-placement": { type: "string" },
  "da3-source": { type: "string" },
  "da3-grid": { type: "string" },
  "da3-stages": { type: "string" },
  "da3-lr-scale": { type: "string" },
  "da3-stem": { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Drops one leading literal `--`. */
export function dropDashDash(args: readonly string[]): string[] {
  return args[0] === "--" ? args.slice(1) : [...args];
}

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

/** The flags' raw values, keyed like {@linkcode TrainConfig}; unknown flags throw ConfigError. */
export function flagsToRaw(
  args: readonly string[],
): { raw: Record<string, unknown>; config?: string; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: dropDashDash(args),
      options: FLAGS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  const raw: Record<string, unknown> = {
    method: list(values.method, METHOD_NAMES),
    domains: list(values.domains),
    epochs: num(values.epochs),
    batch: num(values.batch),
    lr: num(values.lr),
    optimizer: values.optimizer,
    backend: values.backend,
    budgetMb: num(values["budget-mb"]),
    out: values.out,
    seed: num(values.seed),
    resume: values.resume,
    limit: num(values.limit),
    data: values.data,
    gateSparsity: num(values["gate-sparsity"]),
    bnStats: values["bn-stats"],
    da3: defined({
      reduction: num(values["da3-reduction"]),
      spatial: values["da3-spatial"],
      placement: values["da3-placement"],
      source: values["da3-source"],
      grid: num(values["da3-grid"]),
      stages: list(values["da3-stages"])?.map((v) => num(v)),
      lrScale: num(values["da3-lr-scale"]),
      stem: values["da3-stem"],
    }),
  };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  return { raw, config: values.config, help: values.help ?? false };
}

/** Reads flags and an optional `--config file.json` (flags win) into a validated config. */
export async function trainConfigFromArgs(args: readonly string[]): Promise<TrainConfig | "help"> {
  const { raw, config, help } = flagsToRaw(args);
  if (help) return "help";
  let file: Record<string, unknown> = {};
  if (config) {
    try {
      file = JSON.parse(await Deno.readTextFile(config));
    } catch (e) {
      throw new ConfigError(`config file ${config}: ${(e as Error).message}`);
    }
  }
  const da3 = file.da3 && raw.da3 ? { da3: { ...file.da3 as object, ...raw.da3 as object } } : {};
  return parseTrainConfig({ ...file, ...raw, ...da3 });
}

/** Usage text. */
export const USAGE = `usage: deno task train [--method ${METHOD_NAMES.join("|")}|all[,..]]
  [--domains a,b] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]
  [--backend auto|webgpu|cpu] [--budget-mb MB] [--out DIR] [--seed N] [--resume]
  [--limit N (training examples per domain)] [--data embedded|cache] [--bn-stats source|domain]
  [--gate-sparsity λ (DA³: train adaptors that close gates)]
  [--da3-reduction r] [--da3-spatial] [--da3-placement every|last] [--da3-source pair|block]
  [--da3-grid g] [--da3-stages k[,k]] [--da3-lr-scale s] [--da3-stem]
  [--config file.json]`;
