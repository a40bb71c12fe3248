/**
 * Runtime selection: WebGPU when an adapter is available, else the CPU
 * reference runtime.
 * @module
 */
import { cpuRuntime } from "./cpu/runtime.ts";
import type { Runtime } from "./data.ts";
import { NoAdapterError } from "./webgpu/errors.ts";
import { createWebGpuRuntime } from "./webgpu/runtime.ts";

/** Which runtime to use: `auto` tries WebGPU and falls back to the CPU. */
export type Backend = "auto" | "webgpu" | "cpu";

/**
 * The runtime for `backend`. `webgpu` throws NoAdapterError without an
 * adapter; `auto` then warns in one line on stderr and returns the CPU runtime.
 */
export async function selectRuntime(backend: Backend = "auto"): Promise<Runtime> {
  if (backend === "cpu") return cpuRuntime;
  if (backend === "webgpu") return await createWebGpuRuntime();
  try {
    return await createWebGpuRuntime();
  } catch (e) {
    console.error(fallbackWarning(e));
    return cpuRuntime;
  }
}

/**
 * The one-line warning of `auto` falling back to the CPU runtime: why WebGPU
 * is unavailable (whole, e.g. `navigator.gpu is undefined`) and what to do.
 */
export function fallbackWarning(e: unknown): string {
  const why = e instanceof NoAdapterError
    ? `no WebGPU adapter: ${e.detail}`
    : e instanceof Error
    ? `${e.name}: ${e.message.split("\n")[0]}`
    : String(e);
  return `da3: WebGPU unavailable (${why}); using the CPU runtime. For WebGPU install ` +
    "mesa-vulkan-drivers and set XDG_RUNTIME_DIR; pass --backend cpu to skip this check";
}
