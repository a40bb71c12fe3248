/**
 * Adapter and device acquisition for the WebGPU runtime.
 * @module
 */
import { NoAdapterError } from "./errors.ts";

/** Options of {@linkcode acquireDevice}. */
export interface AcquireOptions {
  /** Passed to `requestAdapter` (default "high-performance"). */
  readonly powerPreference?: GPUPowerPreference;
}

/**
 * Requests an adapter and a device with the adapter's largest storage
 * buffer limits; throws NoAdapterError when there is none.
 */
export async function acquireDevice(options: AcquireOptions = {}): Promise<GPUDevice> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) throw new NoAdapterError("navigator.gpu is undefined");
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) throw new NoAdapterError();
  const l = adapter.limits;
  return await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    },
  });
}
