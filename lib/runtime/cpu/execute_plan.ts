/**
 * Executes a plan on the CPU inside its arena: one `ArrayBuffer` of exactly
 * `arenaBytes` holds every arena value at its planned offset, and kernels
 * write straight into those views (a value computed in place shares its
 * input's bytes). Values the plan keeps outside the arena have their own
 * storage: parameters are read from the feeds, persistent values (trainable
 * gradients) get one array each per execution, handed to the caller. An
 * optimizer update writes its parameter and state arrays, the fed ones, in
 * place: on the CPU the caller's parameter store is the device's.
 * @module
 */
import { checkQuantizedReads, showShape } from "../../graph/mod.ts";
import { isParamCategory, type Plan, type PlannedValue } from "../../plan/types.ts";
import {
  allocate,
  FeedError,
  type Feeds,
  type KernelInput,
  PlanError,
  type TensorData,
  viewOf,
} from "../data.ts";
import { inputValue, kernelOf, sourceValue } from "./execute.ts";

/** Options of {@linkcode prepareCpuPlan} and {@linkcode executePlanCpu}. */
export interface ExecutePlanOptions {
  /**
   * Guard mode: fill the arena with 0xFF bytes (NaN as f32) before the first
   * step, and each value's bytes right after its last read, so that reading
   * a freed or never-written slot shows up in the results.
   */
  readonly poison?: boolean;
}

/** A plan ready to run on the CPU: its arena and every arena value's view. */
export interface PreparedCpuPlan {
  /** The plan it runs. */
  readonly plan: Plan;
  /** The one buffer every arena value lives in: `plan.arenaBytes` bytes. */
  readonly arena: ArrayBuffer;
  /** Per value, its arena view at the planned offset; null for values outside the arena. */
  readonly views: readonly (TensorData | null)[];
  /** Runs the schedule on `feeds`; arena outputs are returned as copies, persistent ones as they are. */
  execute(feeds: Feeds): TensorData[];
}

function bytesOf(a: TensorData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const ELEMENT_BYTES = { f32: 4, i32: 4, u8: 1, mask: 4 } as const;

/** Checks that every arena value fits the arena at an offset its typed array can view. */
function checkPlan(plan: Plan): void {
  for (const v of plan.values) {
    if (v.offset === null) continue;
    const what = `${v.op} ${v.name} ${v.dtype}${showShape(v.shape)}`;
    if (v.offset < 0 || v.offset + v.bytes > plan.arenaBytes) {
      throw new PlanError(
        `cpu: ${what} at offset ${v.offset} (${v.bytes} bytes) lies outside the ${plan.arenaBytes}-byte arena`,
      );
    }
    if (v.offset % ELEMENT_BYTES[v.dtype] !== 0) {
      throw new PlanError(`cpu: ${what} at offset ${v.offset} is not ${v.dtype}-aligned`);
    }
  }
  for (const i of plan.schedule) {
    const n = plan.tensors[i];
    if (n.op !== "input") kernelOf(n);
  }
  try {
    checkQuantizedReads(plan.tensors, plan.outputs.map((i) => plan.tensors[i]));
  } catch (e) {
    throw new PlanError(`cpu: ${(e as Error).message}`);
  }
}

/** Allocates the arena of `plan` and the views of its values; validates the plan first. */
export function prepareCpuPlan(plan: Plan, options: ExecutePlanOptions = {}): PreparedCpuPlan {
  checkPlan(plan);
  const arena = new ArrayBuffer(plan.arenaBytes);
  const views = plan.values.map((v) =>
    v.offset === null ? null : viewOf(arena, v.offset, v.bytes, v.dtype)
  );
  const poison = options.poison ?? false;
  const keep = new Set(plan.outputs);
  const takenOver = new Set<number>();
  for (const v of plan.values) if (v.inPlaceOf !== undefined) takenOver.add(v.inPlaceOf);
  const dying: number[][] = plan.schedule.map(() => []);
  for (const v of plan.values) {
    const dies = v.offset !== null && v.lastRead < plan.schedule.length;
    if (dies && !takenOver.has(v.index) && !keep.has(v.index)) dying[v.lastRead].push(v.index);
  }
  const execute = (feeds: Feeds): TensorData[] => {
    if (poison) new Uint8Array(arena).fill(0xff);
    const values = new Array<KernelInput | null>(plan.values.length).fill(null);
    for (const v of plan.values) {
      if (isParamCategory(v.category)) {
        values[v.index] = sourceValue(plan.tensors[v.index], feeds);
      }
    }
    // An update's value is its parameter's own array, written in place.
    const own = (v: PlannedValue) =>
      v.category === "update"
        ? values[v.inputs[0]] as TensorData
        : views[v.index] ?? allocate(v.shape, v.dtype);
    plan.schedule.forEach((i, s) => {
      const v = plan.values[i];
      const n = plan.tensors[i];
      const out = own(v);
      if (v.op === "input") bytesOf(out).set(bytesOf(inputValue(n, feeds)));
      else {
        const args = v.inputs.map((j) => {
          const a = values[j];
          if (!a) {
            throw new FeedError(
              `plan: step ${s} (${v.name}) reads ${plan.values[j].name} before it is written`,
            );
          }
          return a;
        });
        kernelOf(n)(n, args, out);
      }
      values[i] = out;
      if (poison) { for (const j of dying[s]) bytesOf(views[j]!).fill(0xff); }
    });
    return plan.outputs.map((i) => (views[i] ? views[i].slice() : values[i] as TensorData));
  };
  return { plan, arena, views, execute };
}

/** Prepares `plan` in a fresh arena and runs it once on `feeds`. */
export function executePlanCpu(
  plan: Plan,
  feeds: Feeds,
  options: ExecutePlanOptions = {},
): TensorData[] {
  return prepareCpuPlan(plan, options).execute(feeds);
}
