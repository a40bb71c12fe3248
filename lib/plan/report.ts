/**
 * Reading a plan: a per-tensor table with totals, and the stable memory
 * summary record the memory tools print.
 * @module
 */
import { showShape } from "../graph/mod.ts";
import type { Plan, PlannedValue, ValueCategory } from "./types.ts";

/** Megabytes (10^6 bytes) with two decimals. */
export function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(2);
}

/** Bytes by accounting category. */
export interface CategoryTotals {
  /** Every parameter, frozen or trainable. */
  readonly weights: number;
  /** Gradients of the trainable parameters. */
  readonly trainableGrads: number;
  /** Optimizer state. */
  readonly optimizerState: number;
  /** Forward values backward reads (fed inputs included when backward reads them). */
  readonly savedActivations: number;
  /** Arena values that are not saved: fed inputs, outputs, transient values. */
  readonly transient: number;
}

/** One row of the report's table. */
export interface ReportRow {
  /** The value's name. */
  readonly name: string;
  /** Its op. */
  readonly op: string;
  /** `f32[8,64,56,56]`. */
  readonly type: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** Its category. */
  readonly category: ValueCategory;
  /** `[firstWrite, lastRead]`. */
  readonly lifetime: readonly [number, number];
  /** Arena offset, or null when persistent. */
  readonly offset: number | null;
  /** Name of the value whose bytes it takes over, when computed in place. */
  readonly inPlaceOf: string | null;
}

/** The report's JSON form. */
export interface PlanReportJson {
  /** One row per value, in schedule order (weights first). */
  readonly rows: readonly ReportRow[];
  /** Totals by category. */
  readonly totals: CategoryTotals;
  /** Arena size in bytes. */
  readonly arenaBytes: number;
  /** Peak of live arena bytes in this schedule. */
  readonly lowerBoundBytes: number;
  /** `arenaBytes / lowerBoundBytes`. */
  readonly ratio: number;
  /** The step at which the peak is reached. */
  readonly peakStep: number;
  /** Number of schedule steps. */
  readonly steps: number;
  /** `weights + gradients + optimizer state + arena`. */
  readonly totalBytes: number;
}

/** Bytes by category of a plan. */
export function categoryTotals(plan: Plan): CategoryTotals {
  const arena = plan.values.filter((v) => v.offset !== null);
  return {
    weights: plan.weightBytes,
    trainableGrads: plan.gradientBytes,
    optimizerState: plan.optimizerBytes,
    savedActivations: plan.savedActivationBytes,
    transient: arena.filter((v) => !v.saved).reduce((s, v) => s + v.bytes, 0),
  };
}

/** `arena / lowerBound` (1 when the lower bound is 0). */
export function arenaRatio(plan: Plan): number {
  return plan.lowerBoundBytes === 0 ? 1 : plan.arenaBytes / plan.lowerBoundBytes;
}

function row(plan: Plan, v: PlannedValue): ReportRow {
  return {
    name: v.name,
    op: v.op,
    type: `${v.dtype}${showShape(v.shape)}`,
    bytes: v.bytes,
    category: v.category,
    lifetime: [v.firstWrite, v.lastRead],
    offset: v.offset,
    inPlaceOf: v.inPlaceOf === undefined ? null : plan.values[v.inPlaceOf].name,
  };
}

function table(rows: readonly ReportRow[]): string {
  const head = ["name", "op", "type", "bytes", "category", "lifetime", "offset", "in place of"];
  const cells = rows.map((r) => [
    r.name,
    r.op,
    r.type,
    String(r.bytes),
    r.category,
    `[${r.lifetime[0]}, ${r.lifetime[1]}]`,
    r.offset === null ? "-" : String(r.offset),
    r.inPlaceOf ?? "",
  ]);
  const width = head.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c: readonly string[]) => c.map((s, k) => s.padEnd(width[k])).join("  ").trimEnd();
  return [line(head), ...cells.map(line)].join("\n");
}

/**
 * A readable report of a plan: the per-tensor table (name, op, bytes,
 * lifetime, offset), totals by category, the arena peak, its lower bound and
 * their ratio; as text (MB = 10^6 bytes) and as JSON.
 */
export function planReport(plan: Plan): { text: string; json: PlanReportJson } {
  const weights = plan.values.filter((v) => v.category === "weight");
  const computed = plan.schedule.map((i) => plan.values[i]);
  const rows = [...weights, ...computed].map((v) => row(plan, v));
  const totals = categoryTotals(plan);
  const json: PlanReportJson = {
    rows,
    totals,
    arenaBytes: plan.arenaBytes,
    lowerBoundBytes: plan.lowerBoundBytes,
    ratio: arenaRatio(plan),
    peakStep: plan.peakStep,
    steps: plan.schedule.length,
    totalBytes: plan.totalBytes,
  };
  const text = [
    table(rows),
    "",
    `weights            ${megabytes(totals.weights)} MB`,
    `trainable grads    ${megabytes(totals.trainableGrads)} MB`,
    `optimizer state    ${megabytes(totals.optimizerState)} MB (${plan.optimizer})`,
    `saved activations  ${megabytes(totals.savedActivations)} MB`,
    `transient          ${megabytes(totals.transient)} MB (summed over the schedule)`,
    `arena peak         ${
      megabytes(plan.arenaBytes)
    } MB (${plan.ordering} order, ${plan.alignment} B aligned)`,
    `lower bound        ${
      megabytes(plan.lowerBoundBytes)
    } MB at step ${plan.peakStep} of ${plan.schedule.length}`,
    `arena / bound      ${json.ratio.toFixed(3)}`,
    `total              ${megabytes(plan.totalBytes)} MB`,
  ].join("\n");
  return { text, json };
}

/** What a memory summary is about (the model, the adaptation method, the input). */
export interface SummaryLabel {
  /** Model name, e.g. "resnet50". */
  readonly model: string;
  /** Method name, e.g. "finetune". */
  readonly method: string;
  /** Batch size. */
  readonly batch: number;
  /** Input side in pixels. */
  readonly size: number;
}

/** The stable memory record tools read; every figure in bytes. */
export interface MemorySummary extends SummaryLabel {
  /** Arena peak (saved activations, transient values, fed inputs). */
  readonly arenaBytes: number;
  /** Lower bound of the arena for the plan's schedule. */
  readonly lowerBoundBytes: number;
  /** Forward values backward reads. */
  readonly savedActivationBytes: number;
  /** Every parameter. */
  readonly weightBytes: number;
  /** Trainable gradients. */
  readonly gradientBytes: number;
  /** Optimizer state. */
  readonly optimizerBytes: number;
  /** `weightBytes + gradientBytes + optimizerBytes + arenaBytes`. */
  readonly totalBytes: number;
}

/** The memory summary of a plan, with exactly the fields of {@linkcode MemorySummary}. */
export function memorySummary(plan: Plan, label: SummaryLabel): MemorySummary {
  return {
    model: label.model,
    method: label.method,
    batch: label.batch,
    size: label.size,
    arenaBytes: plan.arenaBytes,
    lowerBoundBytes: plan.lowerBoundBytes,
    savedActivationBytes: plan.savedActivationBytes,
    weightBytes: plan.weightBytes,
    gradientBytes: plan.gradientBytes,
    optimizerBytes: plan.optimizerBytes,
    totalBytes: plan.totalBytes,
  };
}
