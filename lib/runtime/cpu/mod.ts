/**
 * The CPU reference runtime.
 * @module
 */
export * from "./execute.ts";
export { CPU_KERNELS } from "./kernels/mod.ts";
export type { CpuKernel } from "./kernels/kernel.ts";
