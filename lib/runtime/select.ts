/**
 * Runtime selection: WebGPU when an adapter is available, else the CPU
 * reference runtime.
 * @module
 */
import { cpuRuntime } from "./cpu/execute.ts";
import type { Runtime } from "./data.ts";
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
    const why = e instanceof Error ? e.message.split(".")[0] : String(e);
    console.error(`da3: WebGPU unavailable (${why}); using the CPU runtime`);
    return cpuRuntime;
  }
}
