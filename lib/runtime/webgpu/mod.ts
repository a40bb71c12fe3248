/**
 * The WebGPU runtime (Deno's `navigator.gpu`): it executes a plan's single
 * arena with WGSL kernels generated per op; typed device errors; per-op GPU
 * profiles.
 * @module
 */
export { createWebGpuRuntime, type WebGpuRuntime, type WebGpuRuntimeOptions } from "./runtime.ts";
export * from "./errors.ts";
export { markParamChanged } from "./param_version.ts";
export * from "./profile.ts";
