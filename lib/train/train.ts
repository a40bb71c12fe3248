/**
 * The open training API: any model builder, any method or bare adaptor, any
 * dataset. {@linkcode train} composes the steps, each usable on its own:
 * {@linkcode setupTraining} (graphs, plan, run configuration),
 * {@linkcode readResumePoint} (the epoch checkpoint to continue, validated),
 * {@linkcode initialState}, {@linkcode trainEpoch}, {@linkcode saveEpoch},
 * {@linkcode evaluateTraining} and {@linkcode saveFinal}. Temporaries that a
 * killed checkpoint write left are removed before the first step. Every step's loss
 * and every updated parameter is checked to be finite; no checkpoint holding
 * a non-finite value is written.
 * @module
 */
import { type Da3Options, FULL_PRECISION, type Method } from "../adapt/mod.ts";
import {
  type Augment,
  batches,
  type ChannelStats,
  channelStats,
  type Dataset,
  DOMAINS,
} from "../data/mod.ts";
import { type OptimizedGrad, withOptimizer } from "../autodiff/mod.ts";
import { fitGateBounds } from "../gating/sparsity.ts";
import {
  type Graph,
  graphFlops,
  isOptimizerState,
  OPTIMIZER_STEP_INPUT,
  optimizerStepValues,
  params as paramNodes,
  type ParamStorage,
  type ScaleGranularity,
  type Shape,
  sourceName,
} from "../graph/mod.ts";
import {
  type Checkpoint,
  CheckpointError,
  type CheckpointMeta,
  loadCheckpoint,
  type RunRecord,
  saveCheckpoint,
  type ShapedTensor,
} from "../io/checkpoint.ts";
import { firstNonFinite } from "../io/finite.ts";
import type { Adaptor, Model } from "../models/mod.ts";
import { memorySummary, type Plan, planGraph } from "../plan/mod.ts";
import { cpuRuntime } from "../runtime/cpu/mod.ts";
import type { ParamStore, Runtime } from "../runtime/data.ts";
import { initParams } from "../runtime/params.ts";
import { quantizingRuntime } from "../runtime/quantize_feeds.ts";
import { runGraph } from "../runtime/run_graph.ts";
import { type BnProbe, recalibrateRunningStats } from "./bn_stats.ts";
import { TrainingError } from "./errors.ts";
import { checkpointPaths, removeStaleTemporariesOf } from "./files.ts";
import { type MethodGraphs, modelGraphs } from "./graphs.ts";
import {
  initOptimizer,
  type OptimizerConfig,
  optimizerNamed,
  type OptimizerState,
  optimizerStateFromTensors,
  optimizerStateTensors,
} from "./optimizer.ts";
import { formatProgress, writeProgress } from "./progress.ts";
import { asJson, checkResumable } from "./resume.ts";
import type { RunResult } from "./results.ts";
import { fitProbeHead, headFeaturesGraph } from "./probe.ts";
import { CONSTANT_LR, lrFactor, type LrSchedule, scheduleRecord } from "./schedule.ts";
import type { HeadInit, ModelBuilder } from "./model_builder.ts";

export type { HeadInit, ModelBuilder, ModelSetting } from "./model_builder.ts";

/** A labelled domain: its name and its training and test sets. */
export interface TrainData {
  /** The domain's name (for reports, checkpoints and, for a registered domain, augmentation). */
  readonly domain: string;
  /** Training set (images of the model's input size). */
  readonly train: Dataset;
  /** Held-out test set. */
  readonly test: Dataset;
  /** Validation set held out of the training data, for model selection (default none). */
  readonly validation?: Dataset;
}

/** What {@linkcode train} trains, on what, and how. */
export interface TrainSpec {
  /** The model, built around the method's adaptor. */
  readonly model: ModelBuilder;
  /** A method (e.g. `da3()`), or a bare adaptor (stored at fp32, learning rate unscaled). */
  readonly method: Method | Adaptor;
  /** The domain. */
  readonly data: TrainData;
  /** Where to execute (default the CPU reference runtime). */
  readonly runtime?: Runtime;
  /** Passes over the training set. */
  readonly epochs: number;
  /** Examples per step. */
  readonly batch: number;
  /** Learning rate. */
  readonly lr: number;
  /**
   * The learning rate over the run's steps (default constant, no warm-up):
   * step `t` (0-based, of `epochs` × steps per epoch) uses `lr · lrFactor(t)`,
   * fed to the update ops as part of the per-step optimizer input.
   */
  readonly schedule?: LrSchedule;
  /** Optimizer (default Adam; `sgd` is SGD with momentum 0.9). */
  readonly optimizer?: OptimizerConfig | "sgd" | "adam";
  /** Seed of initialisation, shuffling and augmentation (default 0). */
  readonly seed?: number;
  /** The frozen backbone's parameters, never mutated (default none: seeded initialisation). */
  readonly backbone?: ParamStore;
  /** The backbone's hash, stored in checkpoints (default `none`). */
  readonly backboneHash?: string;
  /** Folder for the checkpoints (default none: nothing is written). */
  readonly out?: string;
  /** Continue from the epoch checkpoint in `out` when there is one (default false). */
  readonly resume?: boolean;
  /**
   * `domain` re-estimates every batch norm's statistics on the first
   * training batches before training and stores them with the domain's
   * parameters; default `source`.
   */
  readonly bnStats?: "source" | "domain";
  /** Weight λ of the gate-sparsity penalty (DA³ adaptors only; default 0: none). */
  readonly gateSparsity?: number;
  /**
   * Storage of the frozen conv and linear weights in the kernels (default
   * f32): f16 or u8 quantises each one once, at load time, from the f32
   * backbone; the runtime holds only the packed bytes.
   */
  readonly frozenWeights?: ParamStorage;
  /** Scale granularity of u8 frozen weights (default `channel`: one per output channel). */
  readonly frozenScales?: ScaleGranularity;
  /** DA³'s design options the method was built with, stored in the checkpoints (default none). */
  readonly da3?: Da3Options;
  /** Further configuration the run depends on (e.g. an adaptor's options; plain JSON), stored and compared on resume. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Augmentation (default: a registered domain's own, else none). */
  readonly augment?: Augment;
  /** Receives progress lines (default: the terminal's progress bar). */
  readonly progress?: (line: string, final: boolean) => void;
  /**
   * How the new head (`fc.*`) starts: `normal` (its own initialisation),
   * `zeros`, or `probe`: the linear probe fitted on the initial network's
   * pooled features (linear-probe-then-adapt). Default `normal`.
   */
  readonly headInit?: HeadInit;
}

/** Everything a run's steps share, fixed before the first step. */
export interface TrainSetup {
  /** The request. */
  readonly spec: TrainSpec;
  /** The method (a bare adaptor wrapped). */
  readonly method: Method;
  /** The built model. */
  readonly model: Model;
  /** Its training and evaluation graphs. */
  readonly graphs: MethodGraphs;
  /**
   * One training step: forward, backward and an optimizer update per
   * trainable parameter (the updates write the parameters and the state,
   * parameters `<name>#<k>`, where the runtime holds them).
   */
  readonly step: OptimizedGrad;
  /** The plan of one training step: the memory this run reports. */
  readonly plan: Plan;
  /** Training memory of one step from the plan, bytes (fp32). */
  readonly trainingBytes: number;
  /** The optimizer. */
  readonly optimizer: OptimizerConfig;
  /** Where it executes. */
  readonly runtime: Runtime;
  /** Per-channel normalisation statistics of the training set. */
  readonly stats: ChannelStats;
  /** Names of the parameters the optimizer updates. */
  readonly trainable: readonly string[];
  /** Names of the optimizer-state parameters, slot by slot of each trainable parameter. */
  readonly stateNames: readonly string[];
  /** Every parameter's shape, by name. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** The run's configuration as stored with its checkpoints. */
  readonly run: RunRecord;
  /** The augmentation of training batches (undefined: none). */
  readonly augment?: Augment;
  /** Checkpoint paths, when the run writes any. */
  readonly paths?: { readonly epoch: string; readonly final: string };
}

/** The state between epochs: everything an epoch checkpoint stores. */
export interface TrainState {
  /** Every parameter (backbone and the domain's). */
  readonly params: ParamStore;
  /** Optimizer state. */
  readonly optimizer: OptimizerState;
  /** Completed epochs. */
  readonly epoch: number;
  /** Milliseconds spent in timed steps (every step but the run's first). */
  readonly msTotal: number;
  /** Timed steps. */
  readonly msSteps: number;
}

/** The result of one run: its figures, the domain's parameters and shapes, and where they were saved. */
export interface TrainOutcome extends RunResult {
  /** The domain's own parameters (trainable ones and re-estimated BN statistics). */
  readonly params: ParamStore;
  /** Their shapes. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** Path of the final checkpoint (empty when the run writes none). */
  readonly checkpoint: string;
}

/** Thrown for a training request that cannot run; names the field. */
export class TrainSpecError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TrainSpecError";
  }
}

function asMethod(m: Method | Adaptor): Method {
  return "adaptor" in m ? m : { name: m.name, adaptor: m, storedBits: FULL_PRECISION };
}

function pick(params: ParamStore, names: readonly string[]): ParamStore {
  return new Map(names.map((n) => [n, params.get(n)!]));
}

function shaped(
  params: ParamStore,
  shapes: ReadonlyMap<string, Shape>,
): Map<string, ShapedTensor> {
  return new Map(
    [...params].map(([n, data]) => [n, { shape: shapes.get(n) ?? [data.length], data }]),
  );
}

async function digest(...parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length + 8, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(all.buffer).setFloat64(at, p.length);
    all.set(p, at + 8);
    at += p.length + 8;
  }
  const d = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 (hex) of a training set's images and labels: the run record's `data`. */
export function dataDigest(train: Dataset): Promise<string> {
  return digest(train.images, train.labels);
}

function checkSpec(spec: TrainSpec): void {
  const bad = (field: string, why: string, v: unknown) => {
    throw new TrainSpecError(`training ${field}: ${why}, got ${v}`);
  };
  if (!Number.isInteger(spec.epochs) || spec.epochs < 0) bad("epochs", "a count", spec.epochs);
  if (!Number.isInteger(spec.batch) || spec.batch < 1) bad("batch", "a positive count", spec.batch);
  if (!(spec.lr > 0) || !Number.isFinite(spec.lr)) bad("lr", "a finite positive number", spec.lr);
  if (spec.data.train.labels.length < spec.batch) {
    bad("batch", `at most the ${spec.data.train.labels.length} training examples`, spec.batch);
  }
  if (spec.resume && spec.out === undefined) bad("resume", "needs an output folder", spec.resume);
  const s = spec.schedule ?? CONSTANT_LR;
  if (s.kind !== "constant" && s.kind !== "cosine") {
    bad("schedule.kind", "constant or cosine", s.kind);
  }
  if (!Number.isInteger(s.warmup) || s.warmup < 0) bad("schedule.warmup", "a count", s.warmup);
}

/** Optimizer steps of the whole run: `epochs` passes of whole batches. */
function totalSteps(spec: TrainSpec): number {
  return spec.epochs * Math.floor(spec.data.train.labels.length / spec.batch);
}

/**
 * Builds the model, its graphs and plan, and the run configuration; checks
 * the request. Nothing runs and nothing is written.
 */
export async function setupTraining(spec: TrainSpec): Promise<TrainSetup> {
  checkSpec(spec);
  const method = asMethod(spec.method);
  const classes = spec.data.train.classes.length;
  const model = spec.model(method.adaptor, { batch: spec.batch, classes });
  const frozenWeights = spec.frozenWeights ?? "f32";
  const frozenScales = spec.frozenScales ?? "channel";
  const graphs = modelGraphs(model, method, spec.gateSparsity ?? 0, frozenWeights, frozenScales);
  const optimizer = typeof spec.optimizer === "object"
    ? spec.optimizer
    : optimizerNamed(spec.optimizer ?? "adam");
  const base = spec.runtime ?? cpuRuntime;
  const runtime = frozenWeights === "f32" ? base : quantizingRuntime(base);
  // The one plan of the training step, its optimizer included: its bytes are reported and it
  // is what the runtime runs.
  const step = withOptimizer(graphs.train, optimizer, (name) => spec.lr * graphs.lrScale(name));
  const plan = planGraph(step, runtime.target);
  const stateNames = paramNodes(step.graph).filter(isOptimizerState).map(sourceName);
  const size = model.input.shape[2];
  const trainingBytes = memorySummary(plan, {
    model: model.name,
    method: method.name,
    batch: spec.batch,
    size,
  }).totalBytes;
  const shapes = new Map(paramNodes(graphs.train.graph).map((p) => [sourceName(p), p.shape]));
  const trainable = [...graphs.train.grads.keys()].map(sourceName);
  const { train } = spec.data;
  const augment = spec.augment ?? DOMAINS.find((d) => d.name === spec.data.domain)?.augment;
  const run = asJson({
    method: method.name,
    domain: spec.data.domain,
    model: model.name,
    input: model.input.shape,
    classes,
    epochs: spec.epochs,
    batch: spec.batch,
    lr: spec.lr,
    ...(isConstant(spec.schedule) ? {} : {
      schedule: scheduleRecord(spec.schedule!, totalSteps(spec)),
    }),
    optimizer,
    seed: spec.seed ?? 0,
    bnStats: spec.bnStats ?? "source",
    gateSparsity: spec.gateSparsity ?? 0,
    ...(frozenWeights === "f32" ? {} : { frozenWeights }),
    ...(frozenWeights === "u8" && frozenScales !== "channel" ? { frozenScales } : {}),
    da3: spec.da3 ?? {},
    config: spec.config ?? {},
    augment: augment ?? null,
    headInit: spec.headInit ?? "normal",
    examples: train.labels.length,
    data: await dataDigest(train),
    trainable: trainable.map((n) => `${n}[${shapes.get(n)}]`),
  });
  return {
    spec,
    method,
    model,
    graphs,
    step,
    plan,
    trainingBytes,
    optimizer,
    runtime,
    stats: channelStats(train),
    trainable,
    stateNames,
    shapes,
    run,
    ...(augment ? { augment } : {}),
    ...(spec.out !== undefined
      ? { paths: checkpointPaths(spec.out, method.name, spec.data.domain) }
      : {}),
  };
}

/** True for no schedule or the constant one without warm-up (then the run record has no `schedule`). */
function isConstant(s: LrSchedule | undefined): boolean {
  return s === undefined || (s.kind === "constant" && s.warmup === 0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The epoch checkpoint a resumed run continues from, validated: it adapts
 * this backbone, holds only finite values and every trainable parameter at
 * its shape, and was written by the same run configuration (only
 * `epochs` may grow). Undefined without `resume` or without a checkpoint.
 */
export async function readResumePoint(setup: TrainSetup): Promise<Checkpoint | undefined> {
  const path = setup.paths?.epoch;
  if (!setup.spec.resume || path === undefined || !await exists(path)) return undefined;
  const c = await loadCheckpoint(path, setup.spec.backboneHash ?? "none");
  checkResumable(path, c.meta.run, setup.run);
  if (c.meta.epoch > setup.spec.epochs) {
    throw new CheckpointError(
      `${path}: holds ${c.meta.epoch} epochs, more than the ${setup.spec.epochs} asked for`,
    );
  }
  for (const name of setup.trainable) {
    const w = c.params.get(name);
    const n = setup.shapes.get(name)!.reduce((a, d) => a * d, 1);
    if (!w || w.length !== n) {
      throw new CheckpointError(
        `${path}: ${name} is ${w ? `${w.length} values` : "missing"}, not ${n}`,
      );
    }
  }
  return c;
}

/** The first 8 unaugmented training batches' images (BN statistics and gate bounds are fitted on them). */
function fittingImages(setup: TrainSetup): Float32Array[] {
  const { spec, stats } = setup;
  const out: Float32Array[] = [];
  for (
    const b of batches(spec.data.train, {
      batchSize: spec.batch,
      seed: spec.seed ?? 0,
      dropLast: true,
      stats,
    })
  ) {
    out.push(b.x);
    if (out.length === 8) break;
  }
  return out;
}

/** Re-estimates the probed batch norms' running stats on up to 8 unaugmented training batches. */
function recalibrate(setup: TrainSetup, probe: BnProbe, params: ParamStore): Promise<void> {
  return recalibrateRunningStats(setup.runtime, probe, fittingImages(setup), params);
}

/**
 * The state before the first epoch: seeded initialisation over the backbone,
 * per-domain BN statistics and gate bounds when asked, then the resume
 * point's parameters, optimizer state and epoch count.
 */
export async function initialState(setup: TrainSetup, from?: Checkpoint): Promise<TrainState> {
  const { spec, graphs } = setup;
  const params: ParamStore = initParams(
    setup.step.graph,
    spec.seed ?? 0,
    new Map(spec.backbone ?? []),
  );
  // The updates write the trainable parameters in place: the run's own arrays, never the backbone's.
  for (const name of setup.trainable) params.set(name, params.get(name)!.slice());
  if (spec.bnStats === "domain") await recalibrate(setup, graphs.domainProbe, params);
  if (graphs.gated.length > 0) {
    await fitGateBounds(setup.runtime, graphs.gated, fittingImages(setup), params);
  }
  if (!from) await initHead(setup, params);
  if (!from) {
    return { params, optimizer: initOptimizer(setup.optimizer), epoch: 0, msTotal: 0, msSteps: 0 };
  }
  for (const [k, v] of from.params) params.set(k, setup.trainable.includes(k) ? v.slice() : v);
  const optimizer = optimizerStateFromTensors(setup.optimizer, from.state);
  for (const [name, slots] of optimizer.slots) {
    slots.forEach((s, k) => params.set(`${name}#${k}`, s.slice()));
  }
  return {
    params,
    optimizer,
    epoch: from.meta.epoch,
    msTotal: from.state.get("ms")?.[0] ?? 0,
    msSteps: from.state.get("msSteps")?.[0] ?? 0,
  };
}

/** Sets the head's starting point (`spec.headInit`) in `params`. */
async function initHead(setup: TrainSetup, params: ParamStore): Promise<void> {
  const { spec } = setup;
  if (spec.headInit === "zeros") {
    for (const k of ["fc.weight", "fc.bias"]) {
      if (params.has(k)) params.set(k, new Float32Array(params.get(k)!.length));
    }
  } else if (spec.headInit === "probe") {
    const fitted = await fitProbeHead({
      runtime: setup.runtime,
      features: headFeaturesGraph(setup.graphs.eval.outputs[0]),
      params,
      train: spec.data.train,
      stats: setup.stats,
      seed: spec.seed ?? 0,
    });
    for (const [k, v] of fitted.params) params.set(k, v);
  }
}

/** Number of the first `n` rows of `[rows, k]` logits whose arg-max equals the label. */
export function countCorrect(logits: Float32Array, labels: Int32Array, n: number, k = 10): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j] > logits[i * k + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}

function diverged(setup: TrainSetup, what: string, epoch: number, step: number): TrainingError {
  const label = `${setup.method.name}/${setup.spec.data.domain}`;
  const kept = setup.paths && epoch > 0 ? ` at ${setup.paths.epoch}` : "";
  return new TrainingError(
    `${label}: ${what} at epoch ${epoch + 1} step ${step + 1}; stopped (try a lower --lr); ` +
      `the last good checkpoint is kept${kept}`,
  );
}

/**
 * One pass over the training set (epoch `state.epoch + 1`): training steps
 * on shuffled, augmented batches, each updating the parameters where the
 * runtime holds them (the state's trainable and optimizer-state arrays are
 * written in place on the CPU); only the loss and logits come back per
 * step, the parameters and optimizer state at the epoch's end. Stops with
 * TrainingError naming the epoch and step when the loss or an updated
 * parameter is not finite (a parameter is checked at each step where the
 * runtime returns it, the CPU, and at the epoch's end everywhere).
 */
export async function trainEpoch(setup: TrainSetup, state: TrainState): Promise<TrainState> {
  const { spec, runtime } = setup;
  const epoch = state.epoch;
  const classes = spec.data.train.classes.length;
  const steps = Math.floor(spec.data.train.labels.length / spec.batch);
  const show = spec.progress ?? writeProgress;
  let { params, msTotal, msSteps } = state;
  let t = state.optimizer.step;
  const schedule = spec.schedule ?? CONSTANT_LR, total = totalSteps(spec);
  const firstUpdate = setup.plan.outputs.length - setup.trainable.length;
  const checkUpdated = (what: (name: string) => Float32Array, at: number) => {
    setup.trainable.forEach((name) => {
      const w = what(name), i = firstNonFinite(w);
      if (i >= 0) throw diverged(setup, `${name}[${i}] is ${w[i]} after the update`, epoch, at);
    });
  };
  const t0 = performance.now();
  let lossSum = 0, correct = 0, seen = 0, step = 0;
  for (
    const b of batches(spec.data.train, {
      batchSize: spec.batch,
      seed: spec.seed ?? 0,
      epoch,
      dropLast: true,
      stats: setup.stats,
      augment: setup.augment,
    })
  ) {
    const s0 = performance.now();
    t++;
    const out = await runtime.execute(setup.plan, {
      inputs: {
        x: b.x,
        labels: b.y,
        [OPTIMIZER_STEP_INPUT]: optimizerStepValues(
          setup.optimizer,
          t,
          lrFactor(schedule, t - 1, total),
        ),
      },
      params,
    });
    const loss = (out[0] as Float32Array)[0];
    if (!Number.isFinite(loss)) throw diverged(setup, `loss is ${loss}`, epoch, step);
    // An update's value is its parameter where the runtime returns it (else empty).
    const updated = new Map(
      setup.trainable.map((n, k) => [n, out[firstUpdate + k] as Float32Array]),
    );
    checkUpdated((name) => updated.get(name)!, step);
    const ms = performance.now() - s0;
    if (epoch > 0 || step > 0) [msTotal, msSteps] = [msTotal + ms, msSteps + 1];
    step++;
    lossSum += loss;
    correct += countCorrect(out[1] as Float32Array, b.y, b.y.length, classes);
    seen += b.y.length;
    show(
      formatProgress({
        label: `${setup.method.name}/${spec.data.domain} epoch ${epoch + 1}/${spec.epochs}`,
        step,
        steps,
        loss: lossSum / step,
        accuracy: correct / seen,
        elapsed: (performance.now() - t0) / 1000,
        arenaBytes: setup.plan.arenaBytes,
      }),
      step === steps,
    );
  }
  params = new Map(params);
  const names = [...setup.trainable, ...setup.stateNames];
  for (const [k, v] of await runtime.readParams(names, params)) params.set(k, v);
  checkUpdated((name) => params.get(name)!, step - 1);
  const slots = optimizerSlots(setup, params);
  const optimizer: OptimizerState = { config: setup.optimizer, step: t, slots };
  return { params, optimizer, epoch: epoch + 1, msTotal, msSteps };
}

/** The optimizer state held in `params` (`<name>#<k>`), slot by slot of each trainable parameter. */
function optimizerSlots(setup: TrainSetup, params: ParamStore): Map<string, Float32Array[]> {
  const slots = new Map<string, Float32Array[]>();
  for (const name of setup.trainable) {
    const own = setup.stateNames.filter((s) => s.slice(0, s.lastIndexOf("#")) === name);
    slots.set(name, own.map((s) => params.get(s)!));
  }
  return slots;
}

/** Writes the epoch checkpoint (trainable parameters, optimizer and loop state, run configuration); none without `out`. */
export async function saveEpoch(setup: TrainSetup, state: TrainState): Promise<void> {
  if (!setup.paths) return;
  const loop: Map<string, Float32Array | ShapedTensor> = new Map();
  for (const [k, v] of optimizerStateTensors(state.optimizer)) {
    const at = k.lastIndexOf("#");
    const shape = at > 0 ? setup.shapes.get(k.slice(0, at)) : undefined;
    loop.set(k, shape ? { shape, data: v } : v);
  }
  loop.set("ms", Float32Array.of(state.msTotal));
  loop.set("msSteps", Float32Array.of(state.msSteps));
  await saveCheckpoint(
    setup.paths.epoch,
    {
      ...checkpointMeta(setup, state.epoch),
      run: setup.run,
    },
    shaped(pick(state.params, setup.trainable), setup.shapes),
    loop,
  );
}

function checkpointMeta(setup: TrainSetup, epoch: number): CheckpointMeta {
  return {
    method: setup.method.name,
    domain: setup.spec.data.domain,
    backbone: setup.spec.backboneHash ?? "none",
    epoch,
    options: setup.spec.da3 ?? {},
  };
}

/** Logits of `g` over `ds`, batch by batch (the last batch padded), as top-1 accuracy. */
export async function evaluate(
  runtime: Runtime,
  g: Graph,
  params: ParamStore,
  ds: Dataset,
  stats: ChannelStats,
  batch: number,
): Promise<number> {
  let correct = 0;
  for (const b of batches(ds, { batchSize: batch, seed: 0, shuffle: false, stats })) {
    const n = b.y.length;
    const x = new Float32Array(g.outputs[0].shape[0] * (b.x.length / n));
    x.set(b.x);
    const [logits] = await runGraph(runtime, g, { inputs: { x }, params });
    correct += countCorrect(logits as Float32Array, b.y, n, g.outputs[0].shape[1]);
  }
  return correct / ds.labels.length;
}

/** What {@linkcode evaluateTraining} measured, and on which parameters. */
export interface Evaluation {
  /** Test top-1. */
  readonly top1: number;
  /** Validation top-1, when the data has a validation split. */
  readonly valTop1?: number;
  /** The parameters evaluated. */
  readonly params: ParamStore;
}

/**
 * Re-estimates batch-statistics BN running stats, then the test top-1 (and
 * the validation top-1 when there is a validation split); returns them with
 * the parameters evaluated (the state's are not mutated).
 */
export async function evaluateTraining(
  setup: TrainSetup,
  state: TrainState,
): Promise<Evaluation> {
  const params = new Map(state.params);
  await recalibrate(setup, setup.graphs.probe, params);
  const { spec } = setup;
  const top1 = await evaluate(
    setup.runtime,
    setup.graphs.eval,
    params,
    spec.data.test,
    setup.stats,
    spec.batch,
  );
  const { validation } = spec.data;
  if (!validation || validation.labels.length === 0) return { top1, params };
  const valTop1 = await evaluate(
    setup.runtime,
    setup.graphs.eval,
    params,
    validation,
    setup.stats,
    spec.batch,
  );
  return { top1, valTop1, params };
}

/** The domain's own parameters (and re-estimated BN statistics); writes the final checkpoint when the run has `out`. */
export async function saveFinal(
  setup: TrainSetup,
  state: TrainState,
  evaluated: Evaluation,
): Promise<TrainOutcome> {
  const { graphs, spec } = setup;
  const domainStats = spec.bnStats === "domain" ? graphs.domainProbe.norms : [];
  const own = pick(evaluated.params, [
    ...graphs.own,
    ...domainStats.flatMap((bn) => [sourceName(bn.inputs[3]), sourceName(bn.inputs[4])]),
  ]);
  const shapes = new Map([...own.keys()].map((n) => [n, setup.shapes.get(n)!]));
  const { top1, valTop1 } = evaluated;
  const figures = { top1, ...(valTop1 !== undefined ? { valTop1 } : {}) };
  if (setup.paths) {
    await saveCheckpoint(setup.paths.final, {
      ...checkpointMeta(setup, spec.epochs),
      ...figures,
      run: setup.run,
    }, shaped(own, shapes));
  }
  return {
    method: setup.method.name,
    domain: spec.data.domain,
    ...figures,
    paramsPerDomain: [...own.values()].reduce((s, v) => s + v.length, 0),
    trainingBytes: setup.trainingBytes,
    msPerStep: state.msSteps > 0 ? state.msTotal / state.msSteps : 0,
    flopsPerStep: graphFlops(setup.graphs.train.graph),
    epochs: spec.epochs,
    params: own,
    shapes,
    checkpoint: setup.paths?.final ?? "",
  };
}

/**
 * Trains `spec.method` in `spec.model` on `spec.data`: setup, resume point,
 * epochs (each followed by its checkpoint), evaluation, final checkpoint.
 * Resumable; bit-exact on resume.
 *
 * @example
 * ```ts
 * import { da3, loadEmbedded, resnet20, train } from "../../mod.ts";
 *
 * const data = { domain: "sklearn-digits", ...await loadEmbedded("sklearn-digits") };
 * const r = await train({
 *   model: (adaptor, { batch, classes }) => resnet20({ adaptor, batch, classes, size: 32 }),
 *   method: da3(),
 *   data,
 *   epochs: 1,
 *   batch: 32,
 *   lr: 1e-3,
 * });
 * console.log(r.top1, r.trainingBytes);
 * ```
 */
export async function train(spec: TrainSpec): Promise<TrainOutcome> {
  const setup = await setupTraining(spec);
  const from = await readResumePoint(setup);
  if (setup.paths) await removeStaleTemporariesOf([setup.paths.epoch, setup.paths.final]);
  let state = await initialState(setup, from);
  while (state.epoch < spec.epochs) {
    state = await trainEpoch(setup, state);
    await saveEpoch(setup, state);
  }
  return await saveFinal(setup, state, await evaluateTraining(setup, state));
}
