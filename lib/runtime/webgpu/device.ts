/**
 * Adapter and device acquisition for the runtime, kernels, tests and benchmarks: one adapter, one
 * device with the adapter's largest buffer and workgroup limits, and the
 * adapter's name (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` for Mesa's CPU
 * drivers).
 * @module
 */
import { NoAdapterError } from "./errors.ts";

export { NoAdapterError };

/** A device with what is known about its adapter. */
export interface DeviceInfo {
  /** The device. */
  readonly device: GPUDevice;
  /** The adapter's description (or vendor/architecture when it has none). */
  readonly adapterName: string;
  /** The limits the device was created with. */
  readonly limits: GPUSupportedLimits;
}

/**
 * Requests an adapter and a device; throws {@linkcode NoAdapterError} (whose
 * message says how to install Mesa's `mesa-vulkan-drivers libvulkan1` or to
 * use the CPU runtime) when there is none.
 *
 * @example
 * ```ts
 * const { device, adapterName } = await requestDevice();
 * console.log(adapterName);
 * device.destroy();
 * ```
 */
export async function requestDevice(
  powerPreference: GPUPowerPreference = "high-performance",
): Promise<DeviceInfo> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) throw new NoAdapterError("navigator.gpu is undefined");
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new NoAdapterError();
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    // Timestamp queries (per-op profiles) when the adapter offers them.
    requiredFeatures: adapter.features.has("timestamp-query") ? ["timestamp-query"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    },
  });
  const i = adapter.info;
  const adapterName = i.description ||
    [i.vendor, i.architecture, i.device].filter(Boolean).join(" ");
  return { device, adapterName, limits: device.limits };
}
