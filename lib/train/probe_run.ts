/**
 * `--method probe` in a training run: the frozen features fitted by the
 * linear probe (see `probe.ts`), evaluated on validation and test through the
 * same eval graph as `lastlayer`, and saved as a final checkpoint holding only
 * `fc.weight` and `fc.bias`.
 * @module
 */
import { channelStats } from "../data/mod.ts";
import { graphFlops } from "../graph/mod.ts";
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

/** Fits the linear probe on `job.train`, reports validation and test top-1, writes its checkpoint. */
export async function trainProbe(
  job: Omit<DomainJob, "method">,
  log: (line: string) => void = () => {},
): Promise<DomainOutcome & { readonly record: ProbeRecord }> {
  const stats = channelStats(job.train);
  const fitted = await fitProbeHead({
    runtime: job.runtime,
    features: featuresGraph(job.train.classes.length, job.batch, job.model),
    params: job.backbone,
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
  const classes = job.train.classes.length;
  const g = methodGraphs("lastlayer", classes, job.batch, job.model ? { model: job.model } : {});
  const params = new Map([...job.backbone, ...fitted.params]);
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
  const shapes = new Map([
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
      ...(job.config ? { config: asJson(job.config) } : {}),
    },
  }, new Map([...fitted.params].map(([k, data]) => [k, { shape: shapes.get(k)!, data }])));
  return {
    method: "probe",
    domain: job.domain,
    top1,
    ...(valTop1 !== undefined ? { valTop1 } : {}),
    paramsPerDomain: [...fitted.params.values()].reduce((s, v) => s + v.length, 0),
    trainingBytes: fitted.trainingBytes,
    msPerStep: fitted.msPerBatch,
    flopsPerStep: graphFlops(fitted.graph),
    params: fitted.params,
    shapes,
    checkpoint,
    record,
  };
}
