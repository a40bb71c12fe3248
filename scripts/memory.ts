/**
 * The training-memory table: plans one fp32 training step of a ResNet under
 * each adaptation method and prints trainable parameters, bytes stored per
 * domain, saved activations, the arena peak and the total training memory
 * (weights + gradients + optimizer state + arena), with its ratio to
 * fine-tuning, the conv and matmul FLOPs of one step, and the same step under
 * TinyTL's accounting (saved activations with 1-bit masks + parameters, frozen
 * ones at 8 bit; no gradients, optimizer state or forward peak). With an
 * optimizer, the step's plan includes its updates (`withOptimizer`), each
 * applied in place as its gradient is final: gradients live in the arena
 * only until then (no persistent gradient bytes); the optimizer state is
 * persistent. MB = 10^6 bytes.
 *
 * ```sh
 * deno task memory [--model mobilenetv2|resnet18|resnet20|resnet50|resnet56] [--method <name>|all]
 *   [--batch 8] [--size 224] [--classes 100] [--optimizer adam|sgd|none] [--json] [--report]
 *   [--svg out.svg] [--frozen-weights f32|f16|u8] [--fuse on|off]
 * ```
 *
 * `--svg out.svg` also draws each plan (its timeline of live bytes and its
 * arena, see `planPicture`): one method writes `out.svg`; `--method all`
 * writes one file per method, `out-<method>.svg`.
 *
 * `--frozen-weights f32|f16|u8` (default u8, the convention of TinyTL and
 * of DA³'s authors) stores every frozen conv and linear weight at that
 * precision (u8: per output channel) where its op reads it packed, and the
 * weights column counts the bytes really stored (1 per element plus 8 per
 * channel for u8). Trainable weights (all of fine-tuning's) stay fp32; the
 * `frozen MB`, `frozen as` and `trainable MB` columns say which is which.
 *
 * `--fuse on` (the default) plans each step with frozen eval-mode batch
 * norms folded into the convolutions (`grad(…, { fuseConvBn: true })`):
 * forward, a conv's epilogue applies its batch norm and the adds after it
 * (a block's last conv summing into its shortcut's bytes); backward, a
 * conv's input gradient reads `dy` scaled by the batch norm. `--fuse off`
 * plans the unfused graph.
 *
 * Exit codes: 0 success, 2 usage (a flag is unknown or out of range).
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, runCli } from "../lib/cli/run.ts";
import { planTrainingStep } from "../lib/train/step_plan.ts";
import {
  graphFlops,
  isTrainable,
  numel,
  PARAM_STORAGES,
  params,
  type ParamStorage,
  storageOf,
} from "../lib/graph/mod.ts";
import { type MethodName, METHODS, perDomainBytes } from "../lib/adapt/mod.ts";
import {
  mobilenetV2,
  type Model,
  type ModelOptions,
  resnet18,
  resnet20,
  resnet50,
  resnet56,
} from "../lib/models/mod.ts";
import {
  megabytes,
  type MemorySummary,
  memorySummary,
  type OptimizerKind,
  type Plan,
  planPicture,
  planReport,
  tinyTLConventionBytes,
} from "../lib/plan/mod.ts";

/** The models the table knows; each builder has its own default input size. */
export const MODELS: Readonly<Record<string, (o: ModelOptions) => Model>> = {
  mobilenetv2: mobilenetV2,
  resnet18,
  resnet20,
  resnet50,
  resnet56,
};

/** Every method name, in table order. */
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

const OPTIMIZERS = ["adam", "sgd", "none"] as const satisfies readonly OptimizerKind[];

/** The parsed command line. */
export interface MemoryArgs {
  /** Print the usage text and do nothing else. */
  readonly help: boolean;
  /** Print one JSON object instead of a table. */
  readonly json: boolean;
  /** Also print each plan's per-tensor report (table mode only). */
  readonly report: boolean;
  /** Model name, a key of {@linkcode MODELS}. */
  readonly model: string;
  /** The methods to plan (every method for `all`). */
  readonly methods: readonly MethodName[];
  /** True when `--method` was one method rather than `all` or absent. */
  readonly single: boolean;
  /** Batch size. */
  readonly batch: number;
  /** Input side in pixels, or undefined for the model's default. */
  readonly size?: number;
  /** Classes of the new head. */
  readonly classes: number;
  /** Optimizer whose state is counted. */
  readonly optimizer: OptimizerKind;
  /** Where to write each plan's picture (SVG), or undefined for none. */
  readonly svg?: string;
  /** Storage of the frozen conv and linear weights (`--frozen-weights`, default f32). */
  readonly frozenWeights: ParamStorage;
  /** Fold frozen batch norms and the adds after them into the convs (`--fuse on|off`, default on). */
  readonly fuse: boolean;
}

/** One method's row: the stable memory summary plus what the method trains and stores. */
export interface MemoryRow extends MemorySummary {
  /** Number of trainable values. */
  readonly trainableParams: number;
  /** Bytes stored per domain on disk (per-domain parameters at their stored precision). */
  readonly perDomainBytes: number;
  /** Conv and matmul FLOPs of one training step, forward and backward. */
  readonly flopsPerStep: number;
  /** TinyTL's accounting: saved activations (masks at 1 bit) + parameters, frozen at 8 bit. */
  readonly tinyTLConventionBytes: number;
  /** Bytes of the frozen parameters, each at its stored precision (part of `weightBytes`). */
  readonly frozenBytes: number;
  /** Bytes of the trainable parameters, fp32 (the rest of `weightBytes`). */
  readonly trainableWeightBytes: number;
  /**
   * How the frozen conv and linear weights are stored: `u8`, `f16`, `fp32`,
   * several joined by `/` (a method whose ops read some weights as fp32),
   * or `-` when none is frozen.
   */
  readonly frozenStorage: string;
}

/** The frozen/trainable split of a plan's parameters and the storages of its frozen weights. */
export function weightSplit(
  plan: Plan,
): Pick<MemoryRow, "frozenBytes" | "trainableWeightBytes" | "frozenStorage"> {
  let frozenBytes = 0, trainableWeightBytes = 0;
  const storages = new Set<string>();
  for (const v of plan.values) {
    if (v.category !== "weight") continue;
    const t = plan.tensors[v.index];
    if (isTrainable(t)) {
      trainableWeightBytes += v.bytes;
      continue;
    }
    frozenBytes += v.bytes;
    if (t.shape.length >= 2) storages.add(storageOf(t) === "f32" ? "fp32" : storageOf(t));
  }
  const order = ["u8", "f16", "fp32"].filter((s) => storages.has(s));
  return { frozenBytes, trainableWeightBytes, frozenStorage: order.join("/") || "-" };
}

const FLAGS = {
  json: { type: "boolean" },
  report: { type: "boolean" },
  model: { type: "string" },
  method: { type: "string" },
  batch: { type: "string" },
  size: { type: "string" },
  classes: { type: "string" },
  optimizer: { type: "string" },
  svg: { type: "string" },
  "frozen-weights": { type: "string" },
  fuse: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const positiveInt = () => z.coerce.number().int().min(1);

const MemoryFlags = z.object({
  json: z.boolean().default(false),
  report: z.boolean().default(false),
  model: z.enum(Object.keys(MODELS) as [string, ...string[]]).default("resnet50"),
  method: z.enum(["all", ...METHOD_NAMES]).default("all"),
  batch: positiveInt().default(8),
  size: positiveInt().optional(),
  classes: positiveInt().default(100),
  optimizer: z.enum(OPTIMIZERS).default("adam"),
  svg: z.string().regex(/\.svg$/i, "must end in .svg").optional(),
  "frozen-weights": z.enum(PARAM_STORAGES).default("u8"),
  fuse: z.enum(["on", "off"]).default("on"),
  help: z.boolean().default(false),
}).refine((f) => !(f.json && f.report), {
  path: ["report"],
  message: "prints text; it cannot be combined with --json",
});

/** Usage text of `deno task memory`. */
export const USAGE = `usage: deno task memory [--model ${Object.keys(MODELS).join("|")}]
  [--method <name>|all] [--batch 8] [--size <px>] [--classes 100]
  [--optimizer adam|sgd|none] [--json] [--report] [--svg out.svg] [--frozen-weights f32|f16|u8]
  [--fuse on|off]
  --svg draws each plan; with --method all, one file per method: out-<method>.svg
${EXIT_CODES_HELP}`;

/**
 * Parses and checks the flags (a literal `--`, as `deno task` forwards it, is
 * ignored); throws UsageError naming the flag.
 */
export function parseMemoryArgs(argv: readonly string[]): MemoryArgs {
  const f = parseFlags(argv, FLAGS, MemoryFlags);
  return {
    help: f.help,
    json: f.json,
    report: f.report,
    model: f.model,
    methods: f.method === "all" ? METHOD_NAMES : [f.method],
    single: f.method !== "all",
    batch: f.batch,
    size: f.size,
    classes: f.classes,
    optimizer: f.optimizer,
    svg: f.svg,
    frozenWeights: f["frozen-weights"],
    fuse: f.fuse === "on",
  };
}

/**
 * Builds `grad(classificationLoss(model))` for one method (frozen conv and
 * linear weights stored as `frozenWeights`, default f32), plans it and
 * measures its row.
 */
export function memoryRow(
  a:
    & Pick<MemoryArgs, "model" | "batch" | "size" | "classes" | "optimizer">
    & Partial<Pick<MemoryArgs, "frozenWeights" | "fuse">>,
  method: MethodName,
): { row: MemoryRow; plan: Plan; report: () => string } {
  const m = METHODS[method]();
  const model = MODELS[a.model]({
    adaptor: m.adaptor,
    batch: a.batch,
    size: a.size,
    classes: a.classes,
  });
  const { grad: g, plan } = planTrainingStep(model, {
    optimizer: a.optimizer,
    frozenWeights: a.frozenWeights ?? "f32",
    fuse: a.fuse ?? true,
  });
  const size = model.input.shape[3];
  const summary = memorySummary(plan, { model: a.model, method, batch: a.batch, size });
  const trainableParams = params(g.graph).filter(isTrainable).reduce(
    (s, p) => s + numel(p.shape),
    0,
  );
  return {
    row: {
      ...summary,
      trainableParams,
      perDomainBytes: perDomainBytes(g.graph, m),
      flopsPerStep: graphFlops(g.graph),
      tinyTLConventionBytes: tinyTLConventionBytes(g),
      ...weightSplit(plan),
    },
    plan,
    report: () => `== ${a.model} ${method}\n${planReport(plan).text}`,
  };
}

/** The file a method's picture goes to: `out.svg` for one method, else `out-<method>.svg`. */
export function svgPath(svg: string, method: MethodName, single: boolean): string {
  return single ? svg : svg.replace(/\.svg$/i, `-${method}.svg`);
}

/** The heading of a method's picture. */
export function pictureTitle(
  a:
    & Pick<MemoryArgs, "model" | "batch" | "classes" | "optimizer">
    & Partial<Pick<MemoryArgs, "frozenWeights">>,
  method: MethodName,
  size: number,
): string {
  const frozen = a.frozenWeights ? `, frozen weights ${a.frozenWeights}` : "";
  return `${a.model} ${method}: one training step, batch ${a.batch}, ${size}×${size}, ` +
    `${a.classes} classes, optimizer ${a.optimizer}, fp32${frozen}`;
}

/** Writes each requested method's picture; returns the paths written. */
export function writePictures(a: MemoryArgs, svg: string): string[] {
  return a.methods.map((m) => {
    const { row, plan } = memoryRow(a, m);
    const path = svgPath(svg, m, a.single);
    Deno.writeTextFileSync(path, planPicture(plan, { title: pictureTitle(a, m, row.size) }));
    return path;
  });
}

/** The rows of every requested method, and fine-tuning's row as the reference for ratios. */
export function memoryTable(a: MemoryArgs): { rows: MemoryRow[]; reference: MemoryRow } {
  const rows = a.methods.map((m) => memoryRow(a, m).row);
  const reference = rows.find((r) => r.method === "finetune") ?? memoryRow(a, "finetune").row;
  return { rows, reference };
}

/** The JSON output: one row for a single method, else `{ model, batch, size, methods }`. */
export function memoryJson(
  a: Pick<MemoryArgs, "single" | "model" | "batch" | "classes" | "optimizer">,
  rows: readonly MemoryRow[],
): unknown {
  if (a.single) return rows[0];
  const { model, batch, classes, optimizer } = a;
  return { model, batch, size: rows[0].size, classes, optimizer, methods: rows };
}

/** `reference / value` with two decimals and a `×`, e.g. `7.41×`. */
export function times(reference: number, value: number): string {
  return `${(reference / value).toFixed(2)}×`;
}

/** A group of digits for counts, e.g. `25,557,032`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * The rows as a text table in MB (10^6 bytes); `ft/x` columns say how many
 * times less than fine-tuning (`reference`) the method needs in total
 * training memory, in saved activations and in FLOPs per step.
 */
export function formatTable(rows: readonly MemoryRow[], reference: MemoryRow): string {
  const head = [
    "method",
    "trainable",
    "per-domain MB",
    "saved MB",
    "arena MB",
    "bound MB",
    "weights MB",
    "frozen MB",
    "frozen as",
    "trainable MB",
    "grads MB",
    "optim MB",
    "total MB",
    "ft/total",
    "ft/saved",
    "GFLOP/step",
    "ft/FLOPs",
    "TinyTL-conv MB",
  ];
  const body = rows.map((r) => [
    r.method,
    count(r.trainableParams),
    ...[
      r.perDomainBytes,
      r.savedActivationBytes,
      r.arenaBytes,
      r.lowerBoundBytes,
      r.weightBytes,
      r.frozenBytes,
    ].map(megabytes),
    r.frozenStorage,
    ...[
      r.trainableWeightBytes,
      r.gradientBytes,
      r.optimizerBytes,
      r.totalBytes,
    ].map(megabytes),
    times(reference.totalBytes, r.totalBytes),
    times(reference.savedActivationBytes, r.savedActivationBytes),
    (r.flopsPerStep / 1e9).toFixed(2),
    times(reference.flopsPerStep, r.flopsPerStep),
    megabytes(r.tinyTLConventionBytes),
  ]);
  const width = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k].length)));
  const line = (r: readonly string[]) =>
    r.map((c, k) => (k === 0 ? c.padEnd(width[k]) : c.padStart(width[k]))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

/** The line above the table: model, batch, input, classes, optimizer, units. */
export function tableTitle(
  a:
    & Pick<MemoryArgs, "model" | "batch" | "classes" | "optimizer">
    & Partial<Pick<MemoryArgs, "frozenWeights">>,
  size: number,
): string {
  const frozen = a.frozenWeights
    ? `, frozen conv/linear weights ${a.frozenWeights === "f32" ? "fp32" : a.frozenWeights}` +
      " where the op reads them packed (frozen as), trainable weights fp32"
    : "";
  return `${a.model}, batch ${a.batch}, ${size}×${size}, ${a.classes} classes, ` +
    `optimizer ${a.optimizer}, fp32${frozen}; MB = 10^6 bytes; ft/x = fine-tuning ÷ method`;
}

function main(argv: readonly string[]): number {
  const a = parseMemoryArgs(argv);
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  if (a.json) {
    console.log(JSON.stringify(memoryJson(a, a.methods.map((m) => memoryRow(a, m).row)), null, 2));
    if (a.svg) { for (const p of writePictures(a, a.svg)) console.error(`wrote ${p}`); }
    return 0;
  }
  const { rows, reference } = memoryTable(a);
  console.log(tableTitle(a, rows[0].size));
  console.log(formatTable(rows, reference));
  if (a.report) { for (const m of a.methods) console.log("\n" + memoryRow(a, m).report()); }
  if (a.svg) { for (const p of writePictures(a, a.svg)) console.log(`wrote ${p}`); }
  return 0;
}

if (import.meta.main) await runCli("memory", main);
