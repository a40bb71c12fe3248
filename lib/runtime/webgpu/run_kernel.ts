/**
 * Runs single generated kernels: compiles and caches compute pipelines by
 * key, uploads `Float32Array`s, dispatches, and reads results back. Enough
 * for kernel tests and benchmarks; the graph runtime has its own arena.
 * @module
 */
import type { Kernel } from "../../../kernels/wgsl.ts";
import { KernelError } from "./errors.ts";

export type { Kernel };

/** Compiles kernels once per key and runs them on one device. */
export class KernelRunner {
  /** The device kernels run on. */
  readonly device: GPUDevice;
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  /** Creates a runner on `device`. */
  constructor(device: GPUDevice) {
    this.device = device;
  }

  /**
   * The compute pipeline of `kernel`, compiled on first use (cached by its
   * code and layout): with `bindings` > 0 its layout is that many storage
   * bindings (as the graph runtime binds a lowering's dispatches), else the
   * kernel's own ("auto").
   */
  async pipeline(kernel: Kernel, bindings = 0): Promise<GPUComputePipeline> {
    const key = `${bindings}\n${kernel.code}`;
    const hit = this.#pipelines.get(key);
    if (hit) return hit;
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code: kernel.code });
    const layout = bindings === 0 ? "auto" : this.device.createPipelineLayout({
      bindGroupLayouts: [this.device.createBindGroupLayout({
        entries: Array.from({ length: bindings }, (_, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "storage" as const },
        })),
      })],
    });
    const p = this.device.createComputePipeline({
      layout,
      compute: { module, entryPoint: "main" },
    });
    const err = await this.device.popErrorScope();
    if (err) throw new KernelError(kernel.name, err.message);
    this.#pipelines.set(key, p);
    return p;
  }

  /** A storage buffer holding `data` (or `data` zeroed floats when a number). */
  buffer(data: Float32Array<ArrayBuffer> | number): GPUBuffer {
    const bytes = typeof data === "number" ? data * 4 : data.byteLength;
    const b = this.device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    if (typeof data !== "number") this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  /**
   * Records `repeat` dispatches of `kernel` over `buffers` (bindings 0..n-1)
   * and waits for them; a list of kernels (a lowering's dispatches, which
   * may each use only some of the bindings) runs in order each time.
   */
  async dispatch(
    kernel: Kernel | readonly Kernel[],
    buffers: readonly GPUBuffer[],
    repeat = 1,
  ): Promise<void> {
    const many = Array.isArray(kernel);
    const kernels: readonly Kernel[] = many ? kernel : [kernel as Kernel];
    const steps = await Promise.all(kernels.map(async (k) => {
      const p = await this.pipeline(k, many ? buffers.length : 0);
      const bg = this.device.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      return { k, p, bg };
    }));
    const enc = this.device.createCommandEncoder();
    for (let r = 0; r < repeat; r++) {
      for (const { k, p, bg } of steps) {
        const pass = enc.beginComputePass();
        pass.setPipeline(p);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(...k.dispatch);
        pass.end();
      }
    }
    this.device.queue.submit([enc.finish()]);
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Copies the first `count` floats of `buffer` back to the host. */
  async read(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    const bytes = Math.ceil((count * 4) / 4) * 4;
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0, count * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Uploads `inputs`, runs `kernel` with an output of `outCount` floats last, returns the output. */
  async run(
    kernel: Kernel,
    inputs: readonly Float32Array<ArrayBuffer>[],
    outCount: number,
  ): Promise<Float32Array> {
    const bufs = [...inputs.map((x) => this.buffer(x)), this.buffer(outCount)];
    try {
      await this.dispatch(kernel, bufs);
      return await this.read(bufs[bufs.length - 1], outCount);
    } finally {
      for (const b of bufs) b.destroy();
    }
  }
}
