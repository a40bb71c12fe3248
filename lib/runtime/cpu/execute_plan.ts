/**
 * Executes a plan on the CPU through its arena: one `ArrayBuffer` of
 * `arenaBytes`, every arena value a typed-array view at its planned offset.
 * @module
 */
import type { DType } from "../../graph/mod.ts";
import type { Plan, PlannedValue } from "../../plan/mod.ts";
import { allocate, FeedError, type Feeds, type TensorData } from "../data.ts";
import { evalNode, sourceValue } from "./execute.ts";

/** Options of {@linkcode executePlanCpu}. */
export interface ExecutePlanOptions {
  /**
   * Guard mode: fill the arena with 0xFF bytes (NaN as f32) before the first
   * step, and each value's bytes right after its last read, so that reading
   * a freed or never-written slot shows up in the results.
   */
  readonly poison?: boolean;
}

function view(buffer: ArrayBuffer, offset: number, bytes: number, dtype: DType): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(buffer, offset, bytes / 4);
    case "i32":
      return new Int32Array(buffer, offset, bytes / 4);
    case "u8":
      return new Uint8Array(buffer, offset, bytes);
    case "mask":
      return new Uint32Array(buffer, offset, bytes / 4);
  }
}

function copy(a: TensorData): TensorData {
  return a.slice();
}

/**
 * Runs `plan.schedule` step by step with the CPU kernels, each arena value
 * living at its offset in one arena buffer (values computed in place share
 * their input's bytes), and returns copies of the plan's outputs in order.
 */
export function executePlanCpu(
  plan: Plan,
  feeds: Feeds,
  options: ExecutePlanOptions = {},
): TensorData[] {
  const arena = new ArrayBuffer(plan.arenaBytes);
  const poison = options.poison ?? false;
  if (poison) new Uint8Array(arena).fill(0xff);
  const values = new Array<TensorData | undefined>(plan.values.length);
  const slot = (v: PlannedValue): TensorData =>
    v.offset === null ? allocate(v.shape, v.dtype) : view(arena, v.offset, v.bytes, v.dtype);
  for (const v of plan.values) {
    if (v.category === "weight") values[v.index] = sourceValue(plan.tensors[v.index], feeds);
  }
  const takenOver = new Set<number>();
  for (const v of plan.values) if (v.inPlaceOf !== undefined) takenOver.add(v.inPlaceOf);
  const dying: number[][] = plan.schedule.map(() => []);
  for (const v of plan.values) {
    if (v.offset !== null && v.lastRead < plan.schedule.length && !takenOver.has(v.index)) {
      dying[v.lastRead].push(v.index);
    }
  }
  const keep = new Set(plan.outputs);
  plan.schedule.forEach((i, s) => {
    const v = plan.values[i];
    const n = plan.tensors[i];
    const out = slot(v);
    if (v.op === "input") {
      out.set(sourceValue(n, feeds));
    } else {
      const args = v.inputs.map((j) => {
        const a = values[j];
        if (!a) {
          throw new FeedError(
            `plan: step ${s} (${v.name}) reads ${plan.values[j].name} before it is written`,
          );
        }
        return a;
      });
      out.set(evalNode(n, args));
    }
    values[i] = out;
    if (!poison) return;
    for (const j of dying[s]) {
      if (keep.has(j)) continue;
      const d = plan.values[j];
      new Uint8Array(arena, d.offset!, d.bytes).fill(0xff);
    }
  });
  return plan.outputs.map((i) => copy(values[i]!));
}
