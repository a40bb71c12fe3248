/**
 * da3's runtimes: the shared data types (feeds, tensor data, parameter
 * stores, reduced-precision frozen weights), the CPU reference interpreter
 * and CPU runtime, running a bare graph through a plan, and choosing a
 * runtime. The WebGPU runtime is `./webgpu`.
 * @module
 */
export * from "./data.ts";
export * from "./params.ts";
export * from "./quantized.ts";
export * from "./quantize_feeds.ts";
export * from "./cpu/mod.ts";
export * from "./run_graph.ts";
export * from "./select.ts";
