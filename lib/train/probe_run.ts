/**
 * `--method probe` in a training run: the frozen features fitted by the
 * linear probe (see `probe.ts`), evaluated on validation and test through the
 * same eval graph as `lastlayer`, and saved as a final checkpoint holding only
 * `fc.weight` and `fc.bias`. With `--bn-stats domain` the features are those
 * of the backbone with its batch-norm statistics re-estimated on the
 * domain's first 8 training batches (as the other methods see it), and the
 * checkpoint holds those statistics too.
 * @module
 */
import { batches, type ChannelStats, channelStats } from "../data/mod.ts";
import { graphFlops, sourceName } from "../graph/mod.ts";
import type { ParamStore } from "../runtime/data.ts";
import { type BnProbe, recalibrateRunningStats } from "./bn_stats.ts";
import { saveCheckpoint } from "../io/checkpoint.ts";
import { type DomainJob, type DomainOutcome, evaluate, methodGraphs } from "./domain.ts";
import { featuresGraph, fitProbeHead } from "./probe.ts";
import { asJson } from "./resume.ts";

/** The probe's own record of its fit, stored in its checkpoint as options. */
export interface ProbeRecord {
  /** The L2 penalty cross-validation chose. */
  readonly lambda: number;
  /** Folds of the cross-validation. */
  readonly folds: number;
  /** Largest gradient entry at the final fit. */
  readonly gradNorm: number;
  /** L-BFGS iterations of the final fit. */
  readonly iterations: number;
}

/**
 * The running statistics of every batch norm `probe` covers, re-estimated on
 * the first 8 unaugmented training batches (`--bn-stats domain`).
 */
async function domainStatistics(
  job: Omit<DomainJob, "method">,
  probe: BnProbe,
  stats: ChannelStats,
): Promise<ParamStore> {
  const params = new Map(job.backbone), images: Float32Array[] = [];
  const options = { batchSize: job.batch, seed: job.seed, dropLast: true, stats };
  for (const b of batches(job.train, options)) {
    images.push(b.x);
    if (images.length === 8) break;
  }
  await recalibrateRunningStats(job.runtime, probe, images, params);
  const names = probe.norms.flatMap((bn) => [bn.inputs[3], bn.inputs[4]].map(sourceName));
  return new Map(names.map((n) => [n, params.get(n)!]));
}

/** Fits the linear probe on `job.train`, reports validation and test top-1, writes its checkpoint. */
export async function trainProbe(
  job: Omit<DomainJob, "method">,
  log: (line: string) => void = () => {},
): Promise<DomainOutcome & { readonly record: ProbeRecord }> {
  const stats = channelStats(job.train);
  const classes = job.train.classes.length;
  const g = methodGraphs("lastlayer", classes, job.batch, job.model ? { model: job.model } : {});
  const own = job.bnStats === "domain" ? await domainStatistics(job, g.domainProbe, stats) : null;
  const backbone = own ? new Map([...job.backbone, ...own]) : job.backbone;
  const fitted = await fitProbeHead({
    runtime: job.runtime,
    features: featuresGraph(classes, job.batch, job.model),
    params: backbone,
    train: job.train,
    stats,
    seed: job.seed,
  });
  const { probe } = fitted;
  log(
    `probe/${job.domain}: λ ${probe.lambda.toExponential(1)} by 5-fold CV (${
      probe.scores.map((s) => `${s.lambda.toExponential(0)}:${(100 * s.accuracy).toFixed(1)}`)
        .join(" ")
    }); final fit ${probe.iterations} L-BFGS iterations, gradient ${
      probe.gradNorm.toExponential(1)
    }, ${(fitted.fitMs / 1000).toFixed(1)} s`,
  );
  const params = new Map([...backbone, ...fitted.params]);
  const top1 = await evaluate(job.runtime, g.eval, params, job.test, stats, job.batch);
  const valTop1 = job.validation && job.validation.labels.length > 0
    ? await evaluate(job.runtime, g.eval, params, job.validation, stats, job.batch)
    : undefined;
  const record: ProbeRecord = {
    lambda: probe.lambda,
    folds: 5,
    gradNorm: probe.gradNorm,
    iterations: probe.iterations,
  };
  const checkpoint = `${job.out}/probe-${job.domain}.safetensors`;
  const stored: ParamStore = new Map([...(own ?? []), ...fitted.params]);
  const shapes = new Map<string, number[]>([
    ...[...(own ?? new Map())].map(([k, v]): [string, number[]] => [k, [v.length]]),
    ["fc.weight", [classes, probe.head.d]],
    ["fc.bias", [classes]],
  ]);
  await saveCheckpoint(checkpoint, {
    method: "probe",
    domain: job.domain,
    backbone: job.backboneHash,
    epoch: 0,
    top1,
    ...(valTop1 !== undefined ? { valTop1 } : {}),
    run: {
      probe: { ...record },
      examples: job.train.labels.length,
      folds: 5,
      bnStats: job.bnStats ?? "source",
      ...(job.config ? { config: asJson(job.config) } : {}),
    },
  }, new Map([...stored].map(([k, data]) => [k, { shape: shapes.get(k)!, data }])));
  return {
    method: "probe",
    domain: job.domain,
    top1,
    ...(valTop1 !== undefined ? { valTop1 } : {}),
    paramsPerDomain: [...stored.values()].reduce((s, v) => s + v.length, 0),
    trainingBytes: fitted.trainingBytes,
    msPerStep: fitted.msPerBatch,
    flopsPerStep: graphFlops(fitted.graph),
    params: stored,
    shapes,
    checkpoint,
    record,
  };
}
