/**
 * The CPU runtime: executes plans inside their arenas, one prepared arena
 * per plan kept between executions.
 * @module
 */
import { CPU_TARGET, type Plan, type PlanTarget } from "../../plan/types.ts";
import { FeedError, type Feeds, type ParamStore, type Runtime, type TensorData } from "../data.ts";

function copyOf(params: ParamStore, name: string): Float32Array {
  const a = params.get(name);
  if (!a) throw new FeedError(`cpu: readParams: no parameter "${name}"`);
  return a.slice();
}
import { type ExecutePlanOptions, prepareCpuPlan, type PreparedCpuPlan } from "./execute_plan.ts";

/** Options of {@linkcode createCpuRuntime}. */
export interface CpuRuntimeOptions extends ExecutePlanOptions {
  /** Prepared plans kept with their arenas (default 4; the oldest is released first). */
  readonly maxCachedPlans?: number;
}

/** The CPU {@linkcode Runtime}, with access to a prepared plan's arena. */
export interface CpuRuntime extends Runtime {
  /** The prepared form of `plan` (its arena and views), preparing it if needed. */
  prepared(plan: Plan): PreparedCpuPlan;
}

/** Creates a CPU runtime whose target is {@linkcode CPU_TARGET}. */
export function createCpuRuntime(options: CpuRuntimeOptions = {}): CpuRuntime {
  const cache = new Map<Plan, PreparedCpuPlan>();
  const max = options.maxCachedPlans ?? 4;
  const prepared = (plan: Plan): PreparedCpuPlan => {
    let p = cache.get(plan);
    if (!p) {
      p = prepareCpuPlan(plan, options);
      cache.set(plan, p);
      for (const old of cache.keys()) {
        if (cache.size <= max) break;
        cache.delete(old);
      }
    }
    return p;
  };
  const target: PlanTarget = CPU_TARGET;
  return {
    name: "cpu",
    target,
    prepared,
    prepare: (plan: Plan) => Promise.resolve(void prepared(plan)),
    execute: (plan: Plan, feeds: Feeds): Promise<TensorData[]> => {
      try {
        return Promise.resolve(prepared(plan).execute(feeds));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    release: (plan: Plan) => void cache.delete(plan),
    // On the CPU the fed arrays are the storage the updates write: copies of them.
    readParams: (names: Iterable<string>, params: ParamStore) => {
      try {
        return Promise.resolve(new Map([...names].map((n) => [n, copyOf(params, n)])));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}

/** The default CPU runtime. */
export const cpuRuntime: CpuRuntime = createCpuRuntime();
