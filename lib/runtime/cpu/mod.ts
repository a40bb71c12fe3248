/**
 * The CPU runtime (plans in one arena) and the reference interpreter.
 * @module
 */
export * from "./execute.ts";
export * from "./execute_plan.ts";
export * from "./runtime.ts";
export { CPU_KERNELS } from "./kernels/mod.ts";
export type { CpuKernel } from "./kernels/kernel.ts";
