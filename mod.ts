/**
 * da3: memory-efficient on-device multi-domain learning.
 *
 * Declare a frozen backbone and small adaptors as a tensor graph, take the
 * gradient of a loss with respect to the trainable parameters, see exactly
 * which activations backward keeps, and execute it.
 *
 * @example
 * ```ts
 * import { conv2d, executeCpu, grad, initParams, input, mean, param, relu } from "./mod.ts";
 *
 * const x = input("x", [2, 3, 8, 8]);
 * const w = param("w", [4, 3, 3, 3]);
 * const loss = mean(relu(conv2d(x, w, { padding: 1 })));
 * const g = grad(loss);
 * console.log(g.saved.map((s) => `${s.tensor.op} ${s.bytes} B`));
 * const params = initParams(g.graph, 0);
 * const [l, dw] = executeCpu(g.graph, { inputs: { x: new Float32Array(2 * 3 * 64) }, params });
 * ```
 * @module
 */
export * from "./lib/graph/mod.ts";
export * from "./lib/autodiff/mod.ts";
export * from "./lib/runtime/data.ts";
export * from "./lib/runtime/params.ts";
export * from "./lib/runtime/cpu/mod.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsArrayOf,
  type SafetensorsContents,
  type SafetensorsData,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsInput,
  type SafetensorsLimits,
  type SafetensorsTensor,
  toFloat32Array,
  writeSafetensorsFileAtomic,
} from "./lib/io/safetensors.ts";
export * from "./lib/plan/mod.ts";
export { executePlanCpu, type ExecutePlanOptions } from "./lib/runtime/cpu/execute_plan.ts";
export {
  type Augment,
  type Batch,
  batches,
  type BatchOptions,
  type ChannelStats,
  channelStats,
  ChecksumError,
  DataError,
  type DataOrigin,
  type Dataset,
  type DomainInfo,
  domainInfo,
  DOMAINS,
  type ImageShape,
  loadCached,
  loadDomain,
  loadEmbedded,
  type LoadOptions,
  type Split,
} from "./lib/data/mod.ts";
export * from "./lib/models/mod.ts";
export * from "./lib/adapt/mod.ts";
export * from "./lib/train/optimizer.ts";
export {
  type ModelBuilder,
  type ModelSetting,
  train,
  type TrainData,
  type TrainOutcome,
  type TrainSpec,
} from "./lib/train/train.ts";
export { TrainingError } from "./lib/train/errors.ts";
export type { RunResult } from "./lib/train/results.ts";
export { type Backbone, loadBackbone } from "./lib/io/backbone.ts";
export * from "./lib/train/step.ts";
export * from "./lib/io/torchvision.ts";
export * from "./lib/runtime/select.ts";
export * from "./lib/runtime/run_graph.ts";
export {
  createWebGpuRuntime,
  type WebGpuRuntime,
  type WebGpuRuntimeOptions,
} from "./lib/runtime/webgpu/runtime.ts";
export * from "./lib/runtime/webgpu/errors.ts";
export { markParamChanged } from "./lib/runtime/webgpu/param_version.ts";
export * from "./lib/runtime/webgpu/profile.ts";
export * from "./lib/gating/mod.ts";
