/**
 * A whole training run: every requested method on every requested domain,
 * then `results.json`, `results.md` and `results.svg` in the output folder.
 * Every domain, data file, option and resumed checkpoint is validated before
 * the first step: a run that fails validation writes nothing.
 * @module
 */
import {
  balancedIndices,
  type Dataset,
  domainInfo,
  DOMAINS,
  loadDomain,
  NO_AUGMENT,
  splitValidation,
  subset,
} from "../data/mod.ts";
import { holdOutCalibration } from "../gating/data.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { Backbone } from "../io/backbone.ts";
import { assertFinite } from "../io/finite.ts";
import { planFor } from "../plan/mod.ts";
import type { Runtime } from "../runtime/data.ts";
import { selectRuntime } from "../runtime/select.ts";
import { selectBackbone, type SelectedBackbone } from "./backbones.ts";
import type { TrainConfig, TrainMethod } from "./config.ts";
import { type DomainJob, domainSpec, methodGraphs, trainDomain } from "./domain.ts";
import { removeStaleTemporaries } from "./files.ts";
import { trainProbe } from "./probe_run.ts";
import {
  type Results,
  resultsPlot,
  resultsTable,
  type RunResult,
  validationTable,
} from "./results.ts";
import { readResumePoint, setupTraining } from "./train.ts";

/**
 * The default run's target domains: every registered target but the emoji
 * domains, which `--domains emoji-google,emoji-twitter` selects (the default
 * run's table reports the four digit- and glyph-like targets of the MNIST
 * backbone).
 */
export function targetDomains(): string[] {
  return DOMAINS.filter((d) => d.role === "target" && !d.name.startsWith("emoji-")).map((d) =>
    d.name
  );
}

/**
 * The batch for a method: the configured one, or the largest that fits
 * `budgetMb` on the configured backbone.
 */
export function batchFor(
  method: TrainMethod,
  config: TrainConfig,
  classes: number,
  arch: SelectedBackbone = selectBackbone(config),
): number {
  if (config.budgetMb === undefined || method === "probe") return config.batch;
  const options = {
    gateSparsity: config.gateSparsity,
    da3: config.da3,
    model: arch.model,
    frozenWeights: arch.frozenWeights,
    frozenScales: arch.frozenScales,
  };
  return planFor((b) => methodGraphs(method, classes, b, options).train, {
    budgetBytes: config.budgetMb * 1e6,
    optimizer: config.optimizer,
    maxBatch: config.batch,
  }).batch;
}

/**
 * The examples to fit on and the validation split: the validation split is
 * carved (seeded, stratified) from the training data, and with `limit` the
 * examples to fit on are `limit` of the rest, balanced over classes. On the
 * full data both come from before the calibration tail that gated inference
 * holds out (the embedded subset is too small to spare it).
 */
export function fitAndValidation(
  train: Dataset,
  config: Pick<TrainConfig, "data" | "validation" | "validationSeed" | "limit" | "seed">,
): { fit: Dataset; validation: Dataset } {
  const pool = config.data === "cache" ? holdOutCalibration(train).fit : train;
  const { train: rest, validation } = splitValidation(
    pool,
    config.validation,
    config.validationSeed,
  );
  if (config.limit === undefined) return { fit: rest, validation };
  const perClass = Math.ceil(config.limit / train.classes.length);
  const picked = balancedIndices(rest.labels, train.classes.length, perClass, config.seed);
  return { fit: subset(rest, picked), validation };
}

/** Seed of the test subsample `--test-limit` takes: fixed, so every method and seed sees the same one. */
export const TEST_SUBSAMPLE_SEED = 0;

/**
 * The test set a run reports on: all of `test`, or with `limit` ⌊limit/classes⌋
 * examples of each class (at least one), drawn with {@linkcode TEST_SUBSAMPLE_SEED}.
 */
export function testSubset(test: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= test.labels.length) return test;
  const perClass = Math.floor(limit / test.classes.length);
  return subset(
    test,
    balancedIndices(test.labels, test.classes.length, Math.max(perClass, 1), TEST_SUBSAMPLE_SEED),
  );
}

/** Where a run's examples came from and how its sets were drawn, as its run record stores them. */
export interface DataRecord {
  /** `embedded` (the committed subset) or `cache` (the prepared full data). */
  readonly origin: TrainConfig["data"];
  /** The validation fraction or count held out of the training data. */
  readonly validation: number;
  /** Seed of the validation split. */
  readonly validationSeed: number;
  /** Training examples fitted on (`--limit`), or null for all. */
  readonly limit: number | null;
  /** Test examples reported on (`--test-limit`), or null for all. */
  readonly testLimit: number | null;
}

/** The {@linkcode DataRecord} of `config`: what re-creates its fit, validation and test sets. */
export function dataRecord(config: TrainConfig): DataRecord {
  return {
    origin: config.data,
    validation: config.validation,
    validationSeed: config.validationSeed,
    limit: config.limit ?? null,
    testLimit: config.testLimit ?? null,
  };
}

/** A job of a run: a built-in method's, or the linear probe's. */
export type RunJob = Omit<DomainJob, "method"> & { readonly method: TrainMethod };

/** The jobs of one domain: its data loaded (every file's checksum verified), one job per method. */
async function domainJobs(
  config: TrainConfig,
  domain: string,
  bb: Backbone,
  runtime: Runtime,
  arch: SelectedBackbone,
): Promise<RunJob[]> {
  const split = await loadDomain(domain, { origin: config.data, size: arch.size });
  const classes = split.train.classes.length;
  const { fit: train, validation } = fitAndValidation(split.train, config);
  return config.method.map((method) => ({
    method,
    domain,
    train,
    validation,
    test: testSubset(split.test, config.testLimit),
    backbone: bb.params,
    backboneHash: bb.hash,
    runtime,
    epochs: config.epochs,
    batch: batchFor(method, config, classes, arch),
    lr: config.lr,
    schedule: { kind: config.schedule, warmup: config.warmup },
    optimizer: config.optimizer,
    seed: config.seed,
    out: config.out,
    resume: config.resume,
    gateSparsity: config.gateSparsity,
    frozenWeights: arch.frozenWeights,
    frozenScales: arch.frozenScales,
    model: arch.model,
    config: { backbone: arch.record, data: dataRecord(config) },
    da3: config.da3,
    bnStats: config.bnStats,
    ...(config.augment === "none" ? { augment: NO_AUGMENT } : {}),
    weightDecay: config.weightDecay,
    headInit: config.headInit,
  }));
}

/**
 * Validates the whole run before its first step: every domain is known, its
 * files match their checksums, every method's graphs build, and with
 * `--resume` every epoch checkpoint belongs to this backbone and this run's
 * configuration. Reads only.
 */
export async function validateRun(
  config: TrainConfig,
  bb: Backbone,
  runtime: Runtime,
  arch: SelectedBackbone = selectBackbone(config),
): Promise<void> {
  const domains = config.domains ?? targetDomains();
  for (const d of domains) domainInfo(d);
  for (const d of domains) {
    for (const job of await domainJobs(config, d, bb, runtime, arch)) {
      if (job.method === "probe") continue;
      await readResumePoint(await setupTraining(domainSpec({ ...job, method: job.method })));
    }
  }
}

/** Writes `results.{json,md,svg}` atomically, after checking every figure is finite. */
export async function writeResults(out: string, results: Results): Promise<void> {
  assertFinite(
    results.runs.map((r, i) => [
      `${out}/results.json: runs[${i}] (${r.method}/${r.domain})`,
      [r.top1, r.valTop1 ?? 0, r.paramsPerDomain, r.trainingBytes, r.msPerStep, r.flopsPerStep],
    ]),
    "results not written",
  );
  await writeFileAtomic(`${out}/results.json`, JSON.stringify(results, null, 2) + "\n");
  const md = `${resultsTable(results)}\n\n${validationTable(results)}`.trimEnd();
  await writeFileAtomic(`${out}/results.md`, md + "\n");
  await writeFileAtomic(`${out}/results.svg`, resultsPlot(results) + "\n");
}

/**
 * Runs the configured training and writes its results; returns them.
 * `backbone` replaces the configured backbone's committed weights (same
 * architecture).
 */
export async function runTraining(
  config: TrainConfig,
  log: (line: string) => void = console.log,
  backbone?: Backbone,
): Promise<Results> {
  const runtime = await selectRuntime(config.backend);
  const arch = selectBackbone(config);
  const bb = backbone ?? await arch.load();
  const domains = config.domains ?? targetDomains();
  await validateRun(config, bb, runtime, arch);
  await Deno.mkdir(config.out, { recursive: true });
  const stale = await removeStaleTemporaries(config.out);
  if (stale.length > 0) log(`removed ${stale.length} stale temporary file(s) in ${config.out}`);
  const cut = arch.cut ? ` cut at ${arch.cut}` : "";
  log(
    `da3 train: ${config.method.join(", ")} on ${
      domains.join(", ")
    } (${arch.name}${cut} at ${arch.size}², frozen weights ${arch.frozenWeights}; ${runtime.name} runtime)`,
  );
  const runs: RunResult[] = [];
  for (const domain of domains) {
    for (const job of await domainJobs(config, domain, bb, runtime, arch)) {
      const r = job.method === "probe"
        ? await trainProbe(job, log)
        : await trainDomain({ ...job, method: job.method });
      const { params: _, shapes: __, checkpoint, ...result } = r;
      runs.push(result);
      log(
        `${job.method}/${domain}: top-1 ${(100 * r.top1).toFixed(1)}% (validation ${
          r.valTop1 === undefined ? "–" : (100 * r.valTop1).toFixed(1)
        }%), ${r.paramsPerDomain} params, ${(r.trainingBytes / 1e6).toFixed(1)} MB, ${
          r.msPerStep.toFixed(0)
        } ms/step, ${
          (r.flopsPerStep / 1e9).toFixed(2)
        } GFLOP/step (batch ${job.batch}) → ${checkpoint}`,
      );
    }
  }
  const results: Results = { backbone: bb.hash, runs };
  await writeResults(config.out, results);
  log(
    `\n${resultsTable(results)}\n\n${
      validationTable(results)
    }\n\nwritten: ${config.out}/results.{json,md,svg}`,
  );
  return results;
}
