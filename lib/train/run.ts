/**
 * A whole training run: every requested method on every requested domain,
 * then `results.json`, `results.md` and `results.svg` in the output folder.
 * @module
 */
import type { MethodName } from "../adapt/mod.ts";
import { balancedIndices, type Dataset, DOMAINS, loadDomain, subset } from "../data/mod.ts";
import { holdOutCalibration } from "../gating/data.ts";
import { planFor } from "../plan/mod.ts";
import { selectRuntime } from "../runtime/select.ts";
import { type Backbone, loadBackbone } from "./backbone.ts";
import type { TrainConfig } from "./config.ts";
import { methodGraphs, trainDomain } from "./domain.ts";
import { type Results, resultsPlot, resultsTable, type RunResult } from "./results.ts";

/** The target domains (every registered domain but the source). */
export function targetDomains(): string[] {
  return DOMAINS.filter((d) => d.role === "target").map((d) => d.name);
}

/** The batch for a method: the configured one, or the largest that fits `budgetMb`. */
export function batchFor(method: MethodName, config: TrainConfig, classes: number): number {
  if (config.budgetMb === undefined) return config.batch;
  const options = { gateSparsity: config.gateSparsity, da3: config.da3 };
  return planFor((b) => methodGraphs(method, classes, b, options).train, {
    budgetBytes: config.budgetMb * 1e6,
    optimizer: config.optimizer,
    maxBatch: config.batch,
  }).batch;
}

/**
 * `limit` training examples, balanced over classes. On the full data they come
 * from before the calibration tail that gated inference holds out (the
 * embedded subset is too small to spare it).
 */
function limitedTrain(train: Dataset, limit: number, config: TrainConfig): Dataset {
  const pool = config.data === "cache" ? holdOutCalibration(train).fit : train;
  const perClass = Math.ceil(limit / train.classes.length);
  return subset(pool, balancedIndices(pool.labels, train.classes.length, perClass, config.seed));
}

/** Runs the configured training and writes its results; returns them. */
export async function runTraining(
  config: TrainConfig,
  log: (line: string) => void = console.log,
  backbone?: Backbone,
): Promise<Results> {
  const runtime = await selectRuntime(config.backend);
  const bb = backbone ?? await loadBackbone();
  const domains = config.domains ?? targetDomains();
  await Deno.mkdir(config.out, { recursive: true });
  log(`da3 train: ${config.method.join(", ")} on ${domains.join(", ")} (${runtime.name} runtime)`);
  const runs: RunResult[] = [];
  for (const domain of domains) {
    const split = await loadDomain(domain, { origin: config.data });
    const classes = split.train.classes.length;
    const train = config.limit === undefined
      ? split.train
      : limitedTrain(split.train, config.limit, config);
    for (const method of config.method) {
      const batch = batchFor(method, config, classes);
      const r = await trainDomain({
        method,
        domain,
        train,
        test: split.test,
        backbone: bb.params,
        backboneHash: bb.hash,
        runtime,
        epochs: config.epochs,
        batch,
        lr: config.lr,
        optimizer: config.optimizer,
        seed: config.seed,
        out: config.out,
        resume: config.resume,
        gateSparsity: config.gateSparsity,
        da3: config.da3,
        bnStats: config.bnStats,
      });
      const { params: _, checkpoint, ...result } = r;
      runs.push(result);
      log(
        `${method}/${domain}: top-1 ${(100 * r.top1).toFixed(1)}%, ${r.paramsPerDomain} params, ${
          (r.trainingBytes / 1e6).toFixed(1)
        } MB, ${r.msPerStep.toFixed(0)} ms/step, ${
          (r.flopsPerStep / 1e9).toFixed(2)
        } GFLOP/step (batch ${batch}) → ${checkpoint}`,
      );
    }
  }
  const results: Results = { backbone: bb.hash, runs };
  await Deno.writeTextFile(`${config.out}/results.json`, JSON.stringify(results, null, 2) + "\n");
  await Deno.writeTextFile(`${config.out}/results.md`, resultsTable(results) + "\n");
  await Deno.writeTextFile(`${config.out}/results.svg`, resultsPlot(results) + "\n");
  log(`\n${resultsTable(results)}\n\nwritten: ${config.out}/results.{json,md,svg}`);
  return results;
}
