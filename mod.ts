/**
 * da3: memory-efficient on-device multi-domain learning.
 *
 * Declare a frozen backbone and small adaptors as a tensor graph, take the
 * gradient of a loss with respect to the trainable parameters, see exactly
 * which activations backward keeps, plan every value into one arena and run
 * that plan. This module is the curated surface; the rest of each layer is
 * behind a subpath: `da3/graph`, `da3/autodiff`, `da3/plan`, `da3/runtime`,
 * `da3/webgpu`, `da3/models`, `da3/adapt`, `da3/data`, `da3/io`, `da3/train`,
 * `da3/gating`.
 *
 * @example
 * ```ts
 * import { conv2d, cpuRuntime, grad, initParams, input, mean, param, planGraph, relu } from "./mod.ts";
 *
 * const x = input("x", [2, 3, 8, 8]);
 * const w = param("w", [4, 3, 3, 3]);
 * const loss = mean(relu(conv2d(x, w, { padding: 1 })));
 * const g = grad(loss);
 * console.log(g.saved.map((s) => `${s.tensor.op} ${s.bytes} B`));
 * const plan = planGraph(g, cpuRuntime.target);
 * const params = initParams(g.graph, 0);
 * const [l, dw] = await cpuRuntime.execute(plan, { inputs: { x: new Float32Array(2 * 3 * 64) }, params });
 * ```
 * @module
 */
// The DSL.
export {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  formatGraph,
  globalAvgPool,
  graph,
  type Init,
  input,
  linear,
  maxPool2d,
  mean,
  mul,
  param,
  relu,
  reshape,
  type Shape,
  ShapeError,
  sigmoid,
  type Tensor,
} from "./lib/graph/mod.ts";
// Gradients and what backward keeps.
export { grad, type GradResult } from "./lib/autodiff/mod.ts";
// Plans: what runs, and what it costs.
export {
  BudgetError,
  CPU_TARGET,
  megabytes,
  memorySummary,
  type Plan,
  planFor,
  planGraph,
  planReport,
  type PlanTarget,
} from "./lib/plan/mod.ts";
// Running plans.
export {
  cpuRuntime,
  executeCpu,
  type Feeds,
  initParams,
  runGraph,
  type Runtime,
  selectRuntime,
  type TensorData,
} from "./lib/runtime/mod.ts";
// Backbones and adaptors.
export {
  type Adaptor,
  classificationLoss,
  convBnLayer,
  mobilenetV2,
  type Model,
  type ModelOptions,
  resnet20,
  resnet50,
} from "./lib/models/mod.ts";
export { da3, type Method, METHODS } from "./lib/adapt/mod.ts";
// Data, training and files.
export { DataError, type Dataset, loadEmbedded } from "./lib/data/mod.ts";
export { train, TrainingError, type TrainOutcome, type TrainSpec } from "./lib/train/mod.ts";
export { loadBackbone } from "./lib/io/mod.ts";
// Types the signatures above use.
export type {
  Attrs,
  BatchNormOptions,
  BatchNormParams,
  Conv2dOptions,
  DType,
  Graph,
  OpName,
  ParamOptions,
  PoolOptions,
} from "./lib/graph/mod.ts";
export type { Augment, ImageShape, LoadOptions, Split } from "./lib/data/mod.ts";
export type { Backbone } from "./lib/io/mod.ts";
export type { Backend, CpuRuntime, ParamStore, ParamValue } from "./lib/runtime/mod.ts";
export type { F16Tensor, QuantizedTensor, U8Tensor } from "./lib/runtime/mod.ts";
export type {
  BlockSpec,
  ConvBnOptions,
  ConvBnSpec,
  MobilenetV2Model,
  MobilenetV2Options,
  PairContext,
} from "./lib/models/mod.ts";
export type {
  BudgetOptions,
  BudgetPlan,
  MemorySummary,
  OptimizerKind,
  PlannedValue,
  PlanOptions,
  PlanReportJson,
  RecomputeAdvice,
  SummaryLabel,
} from "./lib/plan/mod.ts";
export type { Da3Options, MethodName } from "./lib/adapt/mod.ts";
export type { GradOptions, SavedValue } from "./lib/autodiff/mod.ts";
export type {
  HeadInit,
  LrSchedule,
  ModelBuilder,
  OptimizerConfig,
  RunResult,
  TrainData,
} from "./lib/train/mod.ts";
export type { AdamConfig, ModelSetting, SgdConfig } from "./lib/train/mod.ts";
export type { Attr, OP_NAMES, Pads, Pair } from "./lib/graph/mod.ts";
export type { ParamStorage, ScaleGranularity } from "./lib/graph/mod.ts";
export type { BnTraining, MobilenetV2Cut, PairRole } from "./lib/models/mod.ts";
export type {
  CategoryTotals,
  RecomputeCandidate,
  ReportRow,
  ValueCategory,
} from "./lib/plan/mod.ts";
export type { PreparedCpuPlan } from "./lib/runtime/mod.ts";
