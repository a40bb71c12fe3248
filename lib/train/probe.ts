/**
 * The linear probe as a method: the frozen backbone's pooled features (what
 * the classification head reads, eval-mode batch norms) computed once per
 * example, then a multinomial logistic regression fitted to convergence on
 * them with the penalty chosen by 5-fold cross-validation on the training
 * examples only. The fitted head is an ordinary `fc.weight` / `fc.bias`, so
 * it evaluates, saves and loads like `lastlayer`'s, and can start another
 * method's head (linear-probe-then-adapt).
 *
 * Training memory is counted as the plan of the features' forward pass (one
 * batch, no gradients, no optimizer) plus the fit's float64 buffers: the
 * feature matrix and its standardised and per-fold copies (4·n·d values) and
 * L-BFGS's vectors ((2·10 + 8)·classes·(d + 1) values).
 * @module
 */
import { lastLayer } from "../adapt/mod.ts";
import { batches, type ChannelStats, type Dataset } from "../data/mod.ts";
import { type Graph, graph, type Tensor, withEvalNorms } from "../graph/mod.ts";
import { type Plan, planGraph } from "../plan/mod.ts";
import type { ParamStore, Runtime } from "../runtime/data.ts";
import { initParams } from "../runtime/params.ts";
import { fitProbe, type FittedProbe, type ProbeOptions } from "./probe_cv.ts";
import type { Features } from "./probe_fit.ts";
import { resnet20Model } from "./backbones.ts";
import type { ModelBuilder } from "./model_builder.ts";

/** The `[N, C]` tensor the head's `fc.weight` multiplies: the pooled, flattened features. */
export function pooledFeatures(logits: Tensor): Tensor {
  const mm = graph(logits).nodes.find((n) =>
    n.op === "matmul" && n.inputs[1]?.op === "param" && n.inputs[1].attrs.name === "fc.weight"
  );
  if (!mm) throw new Error(`probe: no matmul by fc.weight feeds logits [${logits.shape}]`);
  return mm.inputs[0];
}

/** The eval-mode graph of the features a model's head reads, output `[batch, C]`. */
export function headFeaturesGraph(logits: Tensor): Graph {
  return graph(...withEvalNorms([pooledFeatures(logits)]));
}

/**
 * The frozen backbone's eval-mode features graph at `batch`, output
 * `[batch, C]`: `model` (default ResNet-20 at 32²) built with the last-layer
 * adaptor.
 */
export function featuresGraph(
  classes: number,
  batch: number,
  model: ModelBuilder = resnet20Model(32),
): Graph {
  return headFeaturesGraph(model(lastLayer().adaptor, { classes, batch }).logits);
}

/**
 * Features of every example of `ds` (in order; the last batch padded), as
 * float64 rows, from a plan of the features graph for `runtime`.
 */
export async function extractFeatures(
  runtime: Runtime,
  plan: Plan,
  params: ParamStore,
  ds: Dataset,
  stats: ChannelStats,
): Promise<Features> {
  const [rows, d] = plan.tensors[plan.outputs[0]].shape, n = ds.labels.length;
  const x = new Float64Array(n * d);
  let at = 0;
  for (const b of batches(ds, { batchSize: rows, seed: 0, shuffle: false, stats })) {
    const input = new Float32Array(rows * (b.x.length / b.y.length));
    input.set(b.x);
    const [out] = await runtime.execute(plan, { inputs: { x: input }, params });
    x.set((out as Float32Array).subarray(0, b.y.length * d), at * d);
    at += b.y.length;
  }
  return { x, n, d };
}

/** Bytes the probe's fit holds besides the forward pass: see the module's note. */
export function probeFitBytes(n: number, d: number, classes: number): number {
  return 8 * (4 * n * d + (2 * 10 + 8) * classes * (d + 1));
}

/** The fitted probe as the head's parameters (`fc.weight` `[classes, d]`, `fc.bias`), fp32. */
export function probeHeadParams(probe: FittedProbe): ParamStore {
  return new Map([
    ["fc.weight", Float32Array.from(probe.head.weight)],
    ["fc.bias", Float32Array.from(probe.head.bias)],
  ]);
}

/** What {@linkcode fitProbeHead} needs. */
export interface ProbeHeadJob {
  /** Where the features' forward pass runs. */
  readonly runtime: Runtime;
  /** The features graph (e.g. {@linkcode featuresGraph} or {@linkcode headFeaturesGraph}). */
  readonly features: Graph;
  /** Parameters it reads (never mutated; missing ones get their seeded initialisation). */
  readonly params: ParamStore;
  /** Examples to fit on (cross-validation folds are drawn from them only). */
  readonly train: Dataset;
  /** Normalisation statistics of the training set. */
  readonly stats: ChannelStats;
  /** Seed of the fold assignment. */
  readonly seed: number;
  /** Fit options (penalty grid, folds, tolerances). */
  readonly options?: Omit<ProbeOptions, "classes" | "seed">;
}

/** A fitted probe head with how it was obtained. */
export interface ProbeHead {
  /** The fit (head on raw features, chosen λ, CV scores, convergence). */
  readonly probe: FittedProbe;
  /** `fc.weight`, `fc.bias`. */
  readonly params: ParamStore;
  /** The features graph (one forward batch). */
  readonly graph: Graph;
  /** Its plan for the runtime: what ran, and the memory reported. */
  readonly plan: Plan;
  /** Bytes of the forward plan plus the fit's buffers. */
  readonly trainingBytes: number;
  /** Mean milliseconds per forward batch of the features pass. */
  readonly msPerBatch: number;
  /** Milliseconds of the fit (cross-validation and final fit). */
  readonly fitMs: number;
}

/** A probe fit and the milliseconds it took when it was computed. */
export interface MemoisedFit {
  /** The fit. */
  readonly probe: FittedProbe;
  /** Milliseconds of its cross-validation and final fit (not of a later lookup). */
  readonly fitMs: number;
}

/** Fits already computed: the same features, labels and options give the same probe. */
const fitted = new Map<string, MemoisedFit>();
const FITS_KEPT = 32;

/** Two 32-bit multiplicative digests (FNV-1a and a Murmur constant) of the features, labels and options: the memo's key. */
function fitKey(f: Features, labels: Uint8Array, options: ProbeOptions): string {
  let a = 0x811c9dc5, b = 0x9747b28c;
  const mix = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) {
      a = Math.imul(a ^ bytes[i], 0x01000193);
      b = Math.imul(b ^ bytes[i], 0x5bd1e995);
    }
  };
  mix(new Uint8Array(f.x.buffer, f.x.byteOffset, f.n * f.d * 8));
  mix(labels);
  const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
  return `${f.n}x${f.d}:${hex(a)}${hex(b)}:${JSON.stringify(options)}`;
}

/**
 * {@linkcode fitProbe}, memoised: the methods of one run that warm-start
 * their heads from the probe (`--head-init probe`) and the probe itself
 * share one fit per domain when their initial features are equal. A
 * reused fit reports the time it took when it was computed.
 */
export function fitProbeMemo(f: Features, labels: Uint8Array, options: ProbeOptions): MemoisedFit {
  const key = fitKey(f, labels, options);
  const hit = fitted.get(key);
  if (hit) return hit;
  const t = performance.now();
  const probe = fitProbe(f, labels, options);
  const done = { probe, fitMs: performance.now() - t };
  if (fitted.size >= FITS_KEPT) fitted.delete(fitted.keys().next().value!);
  fitted.set(key, done);
  return done;
}

/** Computes the features of `job.train` and fits the probe head on them. */
export async function fitProbeHead(job: ProbeHeadJob): Promise<ProbeHead> {
  const classes = job.train.classes.length;
  const g = job.features;
  const params = initParams(g, 0, new Map(job.params));
  const plan = planGraph(g, job.runtime.target);
  const t0 = performance.now();
  const f = await extractFeatures(job.runtime, plan, params, job.train, job.stats);
  const batchesRun = Math.ceil(job.train.labels.length / g.outputs[0].shape[0]);
  const t1 = performance.now();
  const { probe, fitMs } = fitProbeMemo(f, job.train.labels, {
    ...job.options,
    classes,
    seed: job.seed,
  });
  return {
    probe,
    params: probeHeadParams(probe),
    graph: g,
    plan,
    trainingBytes: plan.totalBytes + probeFitBytes(f.n, f.d, classes),
    msPerBatch: (t1 - t0) / batchesRun,
    fitMs,
  };
}
