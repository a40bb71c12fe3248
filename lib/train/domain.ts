/**
 * Training a built-in method on one domain with a registered backbone
 * (what `deno task train` runs for each method and domain; ResNet-20 at 32²
 * unless the job names another model): the built-in case of
 * {@linkcode train}.
 * @module
 */
import { da3, type Da3Options, type Method, type MethodName, METHODS } from "../adapt/mod.ts";
import type { Augment, Dataset } from "../data/mod.ts";
import type { ParamStore, Runtime } from "../runtime/data.ts";
import type { ParamStorage, ScaleGranularity } from "../graph/mod.ts";
import { resnet20Model } from "./backbones.ts";
import { type MethodGraphs, modelGraphs } from "./graphs.ts";
import { optimizerNamed } from "./optimizer.ts";
import type { LrSchedule } from "./schedule.ts";
import {
  type HeadInit,
  type ModelBuilder,
  train,
  type TrainOutcome,
  type TrainSpec,
} from "./train.ts";

export { TrainingError } from "./errors.ts";
export type { MethodGraphs } from "./graphs.ts";
export { countCorrect, evaluate } from "./train.ts";

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
  /** Validation set held out of the training data, for model selection (default none). */
  readonly validation?: Dataset;
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
  /** The learning rate's schedule over the run's steps (default constant, no warm-up). */
  readonly schedule?: LrSchedule;
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
  /** Storage of the frozen conv and linear weights in the kernels (default f32). */
  readonly frozenWeights?: ParamStorage;
  /** Scale granularity of u8 frozen weights (default one per output channel). */
  readonly frozenScales?: ScaleGranularity;
  /** The backbone's model builder (default ResNet-20 at 32², {@linkcode resnet20Builder}). */
  readonly model?: ModelBuilder;
  /** Further run configuration stored in the checkpoints and compared on resume (e.g. the backbone). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** DA³'s design parameters (DA³ only; default: `da3()`'s); stored in the checkpoints. */
  readonly da3?: Da3Options;
  /** Receives progress lines (default: the terminal's progress bar). */
  readonly progress?: (line: string, final: boolean) => void;
  /** L2 weight decay added to the trainable parameters' gradients (default 0). */
  readonly weightDecay?: number;
  /** How the new head starts (default `normal`). */
  readonly headInit?: HeadInit;
  /** Augmentation of training batches (default: the registered domain's own). */
  readonly augment?: Augment;
}

/** The result of one (method, domain) run, with the domain's parameters. */
export type DomainOutcome = TrainOutcome;

/** Options of {@linkcode methodGraphs}. */
export interface MethodGraphOptions {
  /** Adds `λ ·` the gate-sparsity penalty to the loss (DA³ only; default 0). */
  readonly gateSparsity?: number;
  /** DA³'s design parameters (DA³ only; default: `da3()`'s). */
  readonly da3?: Da3Options;
  /** Storage of the frozen conv and linear weights (default f32). */
  readonly frozenWeights?: ParamStorage;
  /** Scale granularity of u8 frozen weights (default one per output channel). */
  readonly frozenScales?: ScaleGranularity;
  /** The backbone's model builder (default ResNet-20 at 32²). */
  readonly model?: ModelBuilder;
}

/** The built-in method `name` (DA³ with `options`). */
export function builtinMethod(name: MethodName, options?: Da3Options): Method {
  return name === "da3" ? da3(options) : METHODS[name]();
}

/** ResNet-20 on 32×32 images: the backbone a job adapts unless it names another. */
export const resnet20Builder: ModelBuilder = resnet20Model(32);

/** Builds the graphs of `method` on `options.model` (default ResNet-20) for `classes` and `batch`. */
export function methodGraphs(
  method: MethodName,
  classes: number,
  batch: number,
  options: MethodGraphOptions = {},
): MethodGraphs {
  const m = builtinMethod(method, options.da3);
  const model = (options.model ?? resnet20Builder)(m.adaptor, { batch, classes });
  return modelGraphs(
    model,
    m,
    options.gateSparsity ?? 0,
    options.frozenWeights,
    options.frozenScales,
  );
}

/** The {@linkcode TrainSpec} of a job. */
export function domainSpec(job: DomainJob): TrainSpec {
  const options = job.method === "da3" ? job.da3 ?? {} : {};
  return {
    model: job.model ?? resnet20Builder,
    method: builtinMethod(job.method, options),
    data: {
      domain: job.domain,
      train: job.train,
      test: job.test,
      ...(job.validation ? { validation: job.validation } : {}),
    },
    runtime: job.runtime,
    epochs: job.epochs,
    batch: job.batch,
    lr: job.lr,
    ...(job.schedule ? { schedule: job.schedule } : {}),
    optimizer: job.weightDecay
      ? { ...optimizerNamed(job.optimizer), weightDecay: job.weightDecay }
      : job.optimizer,
    seed: job.seed,
    backbone: job.backbone,
    backboneHash: job.backboneHash,
    out: job.out,
    resume: job.resume,
    bnStats: job.bnStats,
    gateSparsity: job.gateSparsity,
    frozenWeights: job.frozenWeights,
    ...(job.frozenScales ? { frozenScales: job.frozenScales } : {}),
    ...(job.config ? { config: job.config } : {}),
    da3: options,
    ...(job.headInit ? { headInit: job.headInit } : {}),
    ...(job.augment ? { augment: job.augment } : {}),
    ...(job.progress ? { progress: job.progress } : {}),
  };
}

/** Trains `job.method` on `job.domain`; resumable; returns the run's figures and parameters. */
export function trainDomain(job: DomainJob): Promise<DomainOutcome> {
  return train(domainSpec(job));
}
