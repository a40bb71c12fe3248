/**
 * Running a bare graph on a runtime: the graph is planned once for the
 * runtime's target and that plan is what runs.
 * @module
 */
import type { Graph } from "../graph/mod.ts";
import { planGraph } from "../plan/plan.ts";
import type { Plan, PlanTarget } from "../plan/types.ts";
import type { Feeds, Runtime, TensorData } from "./data.ts";

const plans = new WeakMap<Graph, Map<PlanTarget, Plan>>();

/** The plan of `g` for `runtime.target`: made on the first call, the same object afterwards. */
export function planOn(runtime: Runtime, g: Graph): Plan {
  let byTarget = plans.get(g);
  if (!byTarget) plans.set(g, byTarget = new Map());
  let plan = byTarget.get(runtime.target);
  if (!plan) byTarget.set(runtime.target, plan = planGraph(g, runtime.target));
  return plan;
}

/** Runs `g` on `runtime` through its plan for the runtime's target (planned once per graph). */
export async function runGraph(
  runtime: Runtime,
  g: Graph,
  feeds: Feeds,
): Promise<TensorData[]> {
  return await runtime.execute(planOn(runtime, g), feeds);
}
