/**
 * The training-memory table: plans one training step of a model under each
 * adaptation method and prints weights, gradients, optimizer state, the
 * arena peak and its lower bound.
 *
 * deno run -A bench/memory.ts [--json] [--model cnn20] [--method all|<name>]
 *   [--batch 8] [--size 32] [--optimizer adam|sgd|none] [--classes 10] [--report]
 * @module
 */
import { parseArgs } from "node:util";
import type { GradResult } from "../lib/autodiff/mod.ts";
import {
  megabytes,
  type MemorySummary,
  memorySummary,
  type OptimizerKind,
  planGraph,
  planReport,
} from "../lib/plan/mod.ts";
import { cnn20, type Method, METHODS, resnet50 } from "./models/resnet.ts";

/** What a model builder receives. */
export interface BuildOptions {
  /** Adaptation method name (one of the entry's `methods`). */
  readonly method: string;
  /** Batch size. */
  readonly batch: number;
  /** Input side in pixels. */
  readonly size: number;
  /** Classes of the new head. */
  readonly classes: number;
}

/** A model the memory table knows: its methods, default input size and builder. */
export interface ModelEntry {
  /** Method names `build` accepts. */
  readonly methods: readonly string[];
  /** Input side used when `--size` is not given. */
  readonly defaultSize: number;
  /** Builds one training step's graph. */
  readonly build: (o: BuildOptions) => GradResult;
}

/** Thrown for unknown models, methods or malformed flags. */
export class MemoryCliError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MemoryCliError";
  }
}

/** The models by name; a model registry plugs in here. */
export const MODELS: Record<string, ModelEntry> = {
  cnn20: {
    methods: METHODS,
    defaultSize: 32,
    build: (o) => cnn20({ ...o, method: o.method as Method }),
  },
  resnet50: {
    methods: METHODS,
    defaultSize: 224,
    build: (o) => resnet50({ ...o, method: o.method as Method }),
  },
};

/** Parsed command line. */
export interface MemoryArgs {
  /** Print JSON instead of a table. */
  readonly json: boolean;
  /** Also print each plan's per-tensor report. */
  readonly report: boolean;
  /** Model name. */
  readonly model: string;
  /** Method name or "all". */
  readonly method: string;
  /** Batch size. */
  readonly batch: number;
  /** Input side, or undefined for the model's default. */
  readonly size?: number;
  /** Optimizer whose state is counted. */
  readonly optimizer: OptimizerKind;
  /** Head classes. */
  readonly classes: number;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new MemoryCliError(`--${flag} must be a positive integer, got "${v}"`);
  }
  return n;
}

/** Parses the flags; a literal leading `--` is dropped. */
export function parseMemoryArgs(argv: readonly string[]): MemoryArgs {
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  const { values } = parseArgs({
    args,
    options: {
      json: { type: "boolean", default: false },
      report: { type: "boolean", default: false },
      model: { type: "string", default: "cnn20" },
      method: { type: "string", default: "all" },
      batch: { type: "string", default: "8" },
      size: { type: "string" },
      optimizer: { type: "string", default: "adam" },
      classes: { type: "string", default: "10" },
    },
    strict: true,
  });
  const optimizer = values.optimizer as string;
  if (!["adam", "sgd", "none"].includes(optimizer)) {
    throw new MemoryCliError(`--optimizer must be adam, sgd or none, got "${optimizer}"`);
  }
  return {
    json: values.json as boolean,
    report: values.report as boolean,
    model: values.model as string,
    method: values.method as string,
    batch: positiveInt("batch", values.batch as string),
    size: values.size === undefined ? undefined : positiveInt("size", values.size as string),
    optimizer: optimizer as OptimizerKind,
    classes: positiveInt("classes", values.classes as string),
  };
}

/** Plans every requested method and returns their summaries (and reports when asked). */
export function memoryTable(
  a: MemoryArgs,
  models: Record<string, ModelEntry> = MODELS,
): { summaries: MemorySummary[]; reports: string[]; size: number } {
  const entry = models[a.model];
  if (!entry) {
    throw new MemoryCliError(
      `unknown model "${a.model}"; known: ${Object.keys(models).join(", ")}`,
    );
  }
  const methods = a.method === "all" ? entry.methods : [a.method];
  for (const m of methods) {
    if (!entry.methods.includes(m)) {
      throw new MemoryCliError(
        `model ${a.model} has no method "${m}"; known: ${entry.methods.join(", ")}, all`,
      );
    }
  }
  const size = a.size ?? entry.defaultSize;
  const summaries: MemorySummary[] = [];
  const reports: string[] = [];
  for (const method of methods) {
    const g = entry.build({ method, batch: a.batch, size, classes: a.classes });
    const plan = planGraph(g, { optimizer: a.optimizer });
    summaries.push(memorySummary(plan, { model: a.model, method, batch: a.batch, size }));
    if (a.report) reports.push(`== ${a.model} ${method}\n${planReport(plan).text}`);
  }
  return { summaries, reports, size };
}

/** The summaries as a text table in MB (10^6 bytes). */
export function formatTable(summaries: readonly MemorySummary[]): string {
  const head = ["method", "arena", "bound", "saved", "weights", "grads", "optim", "total"];
  const rows = summaries.map((s) => [
    s.method,
    ...[
      s.arenaBytes,
      s.lowerBoundBytes,
      s.savedActivationBytes,
      s.weightBytes,
      s.gradientBytes,
      s.optimizerBytes,
      s.totalBytes,
    ].map(megabytes),
  ]);
  const width = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (r: readonly string[]) =>
    r.map((c, k) => (k === 0 ? c.padEnd(width[k]) : c.padStart(width[k]))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

function main(argv: readonly string[]): number {
  try {
    const a = parseMemoryArgs(argv);
    const { summaries, reports, size } = memoryTable(a);
    for (const r of reports) console.log(r + "\n");
    if (a.json) {
      const out = a.method === "all"
        ? { model: a.model, batch: a.batch, size, methods: summaries }
        : summaries[0];
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(
        `${a.model}, batch ${a.batch}, ${size}×${size}, optimizer ${a.optimizer}; MB = 10^6 bytes`,
      );
      console.log(formatTable(summaries));
    }
    return 0;
  } catch (e) {
    if (e instanceof MemoryCliError || (e instanceof TypeError && "code" in e)) {
      console.error(`memory: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(main(Deno.args));
