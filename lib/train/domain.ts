/**
 * Training one method on one domain: build the ResNet-20 training graph for
 * the method, plan it, run epochs of optimizer steps on a runtime, keep a
 * resumable checkpoint after every epoch, evaluate, and write the domain's
 * final checkpoint (only its own parameters).
 * @module
 */
import { da3, type Da3Options, type MethodName, METHODS, perDomainParams } from "../adapt/mod.ts";
import { grad } from "../autodiff/mod.ts";
import { batches, type ChannelStats, channelStats, type Dataset, domainInfo } from "../data/mod.ts";
import {
  add,
  type Graph,
  graph,
  graphFlops,
  scale,
  sourceName,
  withEvalNorms,
} from "../graph/mod.ts";
import { findGatedPairs, type GatedPairNodes } from "../gating/structure.ts";
import { classificationLoss, resnet20 } from "../models/mod.ts";
import { memorySummary, planGraph } from "../plan/mod.ts";
import type { ParamStore, Runtime, TensorData } from "../runtime/data.ts";
import { runGraph } from "../runtime/run_graph.ts";
import { initParams } from "../runtime/params.ts";
import { type BnProbe, bnProbe, domainBnProbe, setRunningStats } from "./bn_stats.ts";
import {
  CheckpointError,
  type CheckpointMeta,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import {
  initOptimizer,
  type OptimizerConfig,
  type OptimizerState,
  optimizerStep,
} from "./optimizer.ts";
import { fitGateBounds, gateSparsityPenalty } from "./gate_sparsity.ts";
import { formatProgress, writeProgress } from "./progress.ts";
import { gradientsOf } from "./step.ts";
import type { RunResult } from "./results.ts";

/** Thrown when training diverges; the last good checkpoint is kept. */
export class TrainingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** What {@linkcode trainDomain} needs. */
export interface DomainJob {
  /** The adaptation method. */
  readonly method: MethodName;
  /** The domain's name (for reports, checkpoints and augmentation). */
  readonly domain: string;
  /** Training and test sets. */
  readonly train: Dataset;
  /** Held-out test set. */
  readonly test: Dataset;
  /** The frozen backbone's parameters (never mutated). */
  readonly backbone: ParamStore;
  /** The backbone's hash, stored in checkpoints. */
  readonly backboneHash: string;
  /** Where to execute. */
  readonly runtime: Runtime;
  /** Passes over the training set. */
  readonly epochs: number;
  /** Examples per step. */
  readonly batch: number;
  /** Learning rate. */
  readonly lr: number;
  /** Optimizer. */
  readonly optimizer: "sgd" | "adam";
  /** Seed of initialisation, shuffling and augmentation. */
  readonly seed: number;
  /** Directory for this run's checkpoints. */
  readonly out: string;
  /** Continue from the last epoch checkpoint when there is one. */
  readonly resume: boolean;
  /**
   * `domain` re-estimates every batch norm's statistics on this domain's first
   * training batches before training (a training-mode forward pass, no
   * gradients) and stores them with the domain's parameters; default `source`.
   */
  readonly bnStats?: "source" | "domain";
  /** Weight λ of the gate-sparsity penalty (DA³ only; default 0: none). */
  readonly gateSparsity?: number;
  /** DA³'s design parameters (DA³ only; default: `da3()`'s); stored in the checkpoints. */
  readonly da3?: Da3Options;
  /** Receives progress lines (default: the terminal's progress bar). */
  readonly progress?: (line: string, final: boolean) => void;
}

/** The result of one (method, domain) run, with the domain's parameters. */
export interface DomainOutcome extends RunResult {
  /** The domain's own parameters (trainable ones and re-estimated BN statistics). */
  readonly params: ParamStore;
  /** Path of the final checkpoint. */
  readonly checkpoint: string;
}

/** The training and evaluation graphs of a method on ResNet-20. */
export interface MethodGraphs {
  /** Forward + backward, outputs `[loss, logits, ...grads]`. */
  readonly train: ReturnType<typeof grad>;
  /** Forward only with eval-mode batch norms, output `[logits]`. */
  readonly eval: Graph;
  /** Probe for re-estimating batch-statistics BN running stats. */
  readonly probe: BnProbe;
  /** Probe over every batch norm as a training-mode pass sees it (per-domain statistics). */
  readonly domainProbe: BnProbe;
  /** Parameters stored per domain. */
  readonly own: readonly string[];
  /** The gated DA³ pairs the loss's gate-sparsity penalty covers (empty without one). */
  readonly gated: readonly GatedPairNodes[];
  /** The method's learning-rate multiplier per parameter. */
  readonly lrScale: (paramName: string) => number;
}

/** Options of {@linkcode methodGraphs}. */
export interface MethodGraphOptions {
  /** Adds `λ ·` {@linkcode gateSparsityPenalty} to the loss (DA³ only; default 0). */
  readonly gateSparsity?: number;
  /** DA³'s design parameters (DA³ only; default: `da3()`'s). */
  readonly da3?: Da3Options;
}

/** Builds the graphs of `method` on ResNet-20 for `classes` and `batch`. */
export function methodGraphs(
  method: MethodName,
  classes: number,
  batch: number,
  options: MethodGraphOptions = {},
): MethodGraphs {
  const m = method === "da3" ? da3(options.da3) : METHODS[method]();
  const model = resnet20({ adaptor: m.adaptor, classes, batch, size: 32 });
  const lambda = options.gateSparsity ?? 0;
  const gated = lambda > 0 ? findGatedPairs(model, graph(model.logits)) : [];
  if (lambda > 0 && gated.length === 0) {
    throw new TrainingError(`gate sparsity needs DA³ gated pairs; ${method} has none`);
  }
  const ce = classificationLoss(model);
  const loss = lambda > 0 ? add(ce, scale(gateSparsityPenalty(gated), lambda)) : ce;
  const train = grad(loss, { keep: [model.logits] });
  return {
    train,
    eval: graph(...withEvalNorms([model.logits])),
    probe: bnProbe([model.logits]),
    domainProbe: domainBnProbe([model.logits]),
    own: perDomainParams(train.graph).map(sourceName),
    gated,
    lrScale: m.lrScale ?? (() => 1),
  };
}

function optimizerConfig(kind: "sgd" | "adam"): OptimizerConfig {
  return kind === "sgd" ? { kind: "sgd", momentum: 0.9 } : { kind: "adam" };
}

function pick(params: ParamStore, names: readonly string[]): ParamStore {
  return new Map(names.map((n) => [n, params.get(n)!]));
}

function stateTensors(state: OptimizerState): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>([["step", Float32Array.of(state.step)]]);
  for (const [name, slots] of state.slots) slots.forEach((s, i) => out.set(`${name}#${i}`, s));
  return out;
}

function stateFromTensors(config: OptimizerConfig, t: Map<string, Float32Array>): OptimizerState {
  const slots = new Map<string, Float32Array[]>();
  for (const [k, v] of t) {
    const at = k.lastIndexOf("#");
    if (at < 0) continue;
    const name = k.slice(0, at);
    if (!slots.has(name)) slots.set(name, []);
    slots.get(name)![Number(k.slice(at + 1))] = v;
  }
  return { config, step: t.get("step")?.[0] ?? 0, slots };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
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

/** The first 8 unaugmented training batches' images (BN statistics and gate bounds are fitted on them). */
function fittingImages(job: DomainJob, stats: ChannelStats): Float32Array[] {
  const out: Float32Array[] = [];
  for (
    const b of batches(job.train, { batchSize: job.batch, seed: job.seed, dropLast: true, stats })
  ) {
    out.push(b.x);
    if (out.length === 8) break;
  }
  return out;
}

/** Re-estimates the probed batch norms' running stats on up to 8 unaugmented training batches. */
async function recalibrate(
  job: DomainJob,
  probe: BnProbe,
  params: ParamStore,
  stats: ChannelStats,
): Promise<void> {
  if (probe.norms.length === 0) return;
  const outs: TensorData[][] = [];
  for (const x of fittingImages(job, stats)) {
    outs.push(await runGraph(job.runtime, probe.probe, { inputs: { x }, params }));
  }
  setRunningStats(probe, outs, params);
}

/** Trains `job.method` on `job.domain`; resumable; returns the run's figures and parameters. */
export async function trainDomain(job: DomainJob): Promise<DomainOutcome> {
  const classes = job.train.classes.length;
  const options = job.method === "da3" ? job.da3 ?? {} : {};
  const g = methodGraphs(job.method, classes, job.batch, {
    gateSparsity: job.gateSparsity,
    da3: options,
  });
  // The one plan of the training step: its bytes are reported and it is what the runtime runs.
  const plan = planGraph(g.train, job.runtime.target, { optimizer: job.optimizer });
  const trainingBytes = memorySummary(plan, {
    model: "resnet20",
    method: job.method,
    batch: job.batch,
    size: 32,
  }).totalBytes;
  const stem = `${job.out}/${job.method}-${job.domain}`;
  const epochPath = `${stem}.epoch.safetensors`;
  const finalPath = `${stem}.safetensors`;
  const config = optimizerConfig(job.optimizer);
  let params: ParamStore = initParams(g.train.graph, job.seed, new Map(job.backbone));
  let state = initOptimizer(config);
  let start = 0, msTotal = 0, msSteps = 0;
  const stats = channelStats(job.train);
  const domainStats = job.bnStats === "domain" ? g.domainProbe.norms : [];
  if (domainStats.length > 0) await recalibrate(job, g.domainProbe, params, stats);
  if (g.gated.length > 0) {
    await fitGateBounds(job.runtime, g.gated, fittingImages(job, stats), params);
  }
  if (job.resume && await exists(epochPath)) {
    const c = await loadCheckpoint(epochPath, job.backboneHash);
    if (JSON.stringify(c.meta.options ?? {}) !== JSON.stringify(options)) {
      throw new CheckpointError(
        `${epochPath} was trained with options ${JSON.stringify(c.meta.options ?? {})}, ` +
          `this run asks for ${JSON.stringify(options)}`,
      );
    }
    for (const [k, v] of c.params) params.set(k, v);
    state = stateFromTensors(config, c.state);
    start = c.meta.epoch;
    msTotal = c.state.get("ms")?.[0] ?? 0;
    msSteps = c.state.get("msSteps")?.[0] ?? 0;
  }
  const augment = domainInfo(job.domain).augment;
  const names = [...g.train.grads.keys()].map(sourceName);
  const lrOf = (name: string) => job.lr * g.lrScale(name);
  const show = job.progress ?? writeProgress;
  for (let epoch = start; epoch < job.epochs; epoch++) {
    const steps = Math.floor(job.train.labels.length / job.batch);
    const t0 = performance.now();
    let lossSum = 0, correct = 0, seen = 0, step = 0;
    for (
      const b of batches(job.train, {
        batchSize: job.batch,
        seed: job.seed,
        epoch,
        dropLast: true,
        stats,
        augment,
      })
    ) {
      const s0 = performance.now();
      const out = await job.runtime.execute(plan, {
        inputs: { x: b.x, labels: b.y },
        params,
      });
      const loss = (out[0] as Float32Array)[0];
      if (!Number.isFinite(loss)) {
        throw new TrainingError(
          `${job.method}/${job.domain}: loss is ${loss} at epoch ${epoch + 1} step ${step + 1}; ` +
            `stopped (try a lower --lr); the last good checkpoint is kept${
              epoch > 0 ? ` at ${epochPath}` : ""
            }`,
        );
      }
      ({ params, state } = optimizerStep(state, params, gradientsOf(g.train, out), lrOf));
      const ms = performance.now() - s0;
      if (epoch > 0 || step > 0) [msTotal, msSteps] = [msTotal + ms, msSteps + 1];
      step++;
      lossSum += loss;
      correct += countCorrect(out[1] as Float32Array, b.y, b.y.length, classes);
      seen += b.y.length;
      show(
        formatProgress({
          label: `${job.method}/${job.domain} epoch ${epoch + 1}/${job.epochs}`,
          step,
          steps,
          loss: lossSum / step,
          accuracy: correct / seen,
          elapsed: (performance.now() - t0) / 1000,
          arenaBytes: plan.arenaBytes,
        }),
        step === steps,
      );
    }
    const meta: CheckpointMeta = {
      method: job.method,
      domain: job.domain,
      backbone: job.backboneHash,
      epoch: epoch + 1,
      options,
    };
    const loop = stateTensors(state);
    loop.set("ms", Float32Array.of(msTotal));
    loop.set("msSteps", Float32Array.of(msSteps));
    await saveCheckpoint(epochPath, meta, pick(params, names), loop);
  }
  await recalibrate(job, g.probe, params, stats);
  const top1 = await evaluate(job.runtime, g.eval, params, job.test, stats, job.batch);
  const own = pick(params, [
    ...g.own,
    ...domainStats.flatMap((bn) => [sourceName(bn.inputs[3]), sourceName(bn.inputs[4])]),
  ]);
  await saveCheckpoint(finalPath, {
    method: job.method,
    domain: job.domain,
    backbone: job.backboneHash,
    epoch: job.epochs,
    top1,
    options,
  }, own);
  return {
    method: job.method,
    domain: job.domain,
    top1,
    paramsPerDomain: [...own.values()].reduce((s, v) => s + v.length, 0),
    trainingBytes,
    msPerStep: msSteps > 0 ? msTotal / msSteps : 0,
    flopsPerStep: graphFlops(g.train.graph),
    params: own,
    checkpoint: finalPath,
  };
}
