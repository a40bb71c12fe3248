/**
 * The planner: from a training or inference graph to an execution plan —
 * schedule, lifetimes, in-place reuse, arena offsets, lower bound, budget
 * fitting and reports. Plans are plain data; runtimes execute them.
 * @module
 */
export * from "./types.ts";
export * from "./assign.ts";
export * from "./lower_bound.ts";
export * from "./schedule.ts";
export * from "./lifetimes.ts";
export * from "./in_place.ts";
export * from "./plan.ts";
export * from "./budget.ts";
export * from "./report.ts";
export * from "./tinytl_convention.ts";
export * from "./picture_data.ts";
export * from "./picture.ts";
