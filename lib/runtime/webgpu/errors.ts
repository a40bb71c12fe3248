/**
 * Typed errors of the WebGPU runtime.
 * @module
 */

/** Thrown when `navigator.gpu` offers no adapter (or no `navigator.gpu` at all). */
export class NoAdapterError extends Error {
  /** Why there is no adapter, e.g. `navigator.gpu is undefined`. */
  readonly detail: string;
  /** Creates the error; the message says how to get an adapter or avoid needing one. */
  constructor(detail = "navigator.gpu.requestAdapter() returned null") {
    super(
      `no WebGPU adapter (${detail}). On Debian/Ubuntu install Mesa's software Vulkan driver: ` +
        "`sudo apt-get install -y mesa-vulkan-drivers libvulkan1` (and set XDG_RUNTIME_DIR, e.g. " +
        'to /tmp), or run on the CPU runtime (`selectRuntime("cpu")`, `--backend cpu`).',
    );
    this.name = "NoAdapterError";
    this.detail = detail;
  }
}

/** Thrown when the GPU device was lost; host-side parameters are untouched. */
export class DeviceLostError extends Error {
  /** Why the device was lost, as reported by `device.lost`. */
  readonly reason: string;
  /** Creates the error from the device's loss info. */
  constructor(reason: string, message: string) {
    super(
      `WebGPU device lost (${reason}): ${message || "no message"}. ` +
        "Host-side parameters are intact; create a new runtime to continue.",
    );
    this.name = "DeviceLostError";
    this.reason = reason;
  }
}

/** Thrown when a value does not fit a device limit. */
export class LimitError extends Error {
  /** The value (or buffer) that does not fit. */
  readonly value: string;
  /** The limit's name, e.g. `maxStorageBufferBindingSize`. */
  readonly limit: string;
  /** Creates the error naming the value, its size, the limit and its size. */
  constructor(value: string, bytes: number, limit: string, max: number) {
    super(`${value} needs ${bytes} bytes but the device's ${limit} is ${max} bytes`);
    this.name = "LimitError";
    this.value = value;
    this.limit = limit;
  }
}

/** Thrown when a graph contains an op the WebGPU runtime has no kernel for. */
export class UnsupportedOpError extends Error {
  /** The op's name. */
  readonly op: string;
  /** Creates the error naming the op. */
  constructor(op: string) {
    super(`webgpu: no kernel for op "${op}"; run this graph on the CPU runtime`);
    this.name = "UnsupportedOpError";
    this.op = op;
  }
}

/** Thrown when WebGPU reports a validation or out-of-memory error for a kernel. */
export class KernelError extends Error {
  /** Creates the error naming the kernel and the device's message. */
  constructor(kernel: string, message: string) {
    super(`webgpu kernel ${kernel}: ${message}`);
    this.name = "KernelError";
  }
}
