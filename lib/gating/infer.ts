/**
 * Gated inference of a multi-domain DA³ model: one shared frozen backbone,
 * per-domain adaptor and head parameters, and per-domain gate calibrations.
 * @module
 */
import { da3, type Da3Options } from "../adapt/da3.ts";
import { resnet20 } from "../models/resnet_cifar.ts";
import type { Model } from "../models/model.ts";
import type { ParamStore } from "../runtime/data.ts";
import { runGated } from "./execute.ts";
import { backboneFlops } from "./flops.ts";
import { type Calibration, planGating } from "./plan.ts";
import { GatingError, type GatingMode } from "./rule.ts";

/** One domain's weights: its adaptor and head parameters, and optionally its gate calibration. */
export interface DomainWeights {
  /** Adaptor and head parameters (everything not in the backbone). */
  readonly params: ParamStore;
  /** Calibrated bounds for `{ tau }` gating on this domain. */
  readonly calibration?: Calibration;
}

/** A DA³ model for several domains. */
export interface Da3Model {
  /** The network built with batch 1 and the DA³ adaptor. */
  readonly model: Model;
  /** The shared frozen backbone parameters. */
  readonly backbone: ParamStore;
  /** Per-domain weights by domain name. */
  readonly domains: ReadonlyMap<string, DomainWeights>;
}

/** Builds the batch-1 DA³ ResNet-20 with `classes` outputs (default DA³ options unless given). */
export function da3Resnet20(classes: number, options: Da3Options = {}): Model {
  return resnet20({ adaptor: da3(options).adaptor, classes, batch: 1 });
}

/** Options of {@linkcode infer}. */
export interface InferOptions {
  /** `off`, `exact`, `exact-l1` or `{ tau }` (calibrated; needs the domain's calibration). */
  readonly gating: GatingMode;
}

/** What {@linkcode infer} returns. */
export interface InferResult {
  /** Logits, `[n, classes]` flattened. */
  readonly logits: Float32Array;
  /** Arg-max class per sample. */
  readonly predictions: Int32Array;
  /** Mean FLOPs executed per image (conv and matmul, gate bounds included). */
  readonly flopsExecuted: number;
  /** FLOPs per image without gating. */
  readonly flopsUngated: number;
  /** FLOPs per image of the frozen backbone convs without gating. */
  readonly backboneFlops: number;
  /** Mean fraction of gated-conv output channels left open, per gated conv. */
  readonly openFraction: readonly number[];
}

/** The parameters of `domain`: the backbone overlaid with the domain's own. */
export function domainParams(model: Da3Model, domain: string): ParamStore {
  const d = model.domains.get(domain);
  if (!d) {
    throw new GatingError(
      `no weights for domain "${domain}" (have: ${[...model.domains.keys()].join(", ")})`,
    );
  }
  const params: ParamStore = new Map(model.backbone);
  for (const [k, v] of d.params) params.set(k, v);
  return params;
}

/**
 * Classifies `input` (`[n, 3, H, W]` flattened, normalized) on `domain`,
 * gating each sample's DA³ pairs by `options.gating`.
 */
export function infer(
  model: Da3Model,
  domain: string,
  input: Float32Array,
  options: InferOptions,
): InferResult {
  const params = domainParams(model, domain);
  const calibration = model.domains.get(domain)!.calibration;
  const plan = planGating(model.model, params, options.gating, calibration ? { calibration } : {});
  const size = model.model.input.shape.slice(1).reduce((a, b) => a * b, 1);
  if (input.length % size !== 0) {
    throw new GatingError(`input has ${input.length} values, not a multiple of ${size} per image`);
  }
  const n = input.length / size, classes = model.model.logits.shape[1];
  const logits = new Float32Array(n * classes), predictions = new Int32Array(n);
  const openSum = plan.gated.map(() => 0);
  let flops = 0;
  for (let s = 0; s < n; s++) {
    const r = runGated(plan, params, input.subarray(s * size, (s + 1) * size));
    logits.set(r.logits, s * classes);
    predictions[s] = argmax(r.logits);
    flops += r.flops;
    r.open.forEach((o, k) => (openSum[k] += o));
  }
  const ungated = backboneFlops(plan.graph);
  return {
    logits,
    predictions,
    flopsExecuted: n > 0 ? flops / n : 0,
    flopsUngated: ungated.total,
    backboneFlops: ungated.backbone,
    openFraction: plan.gated.map((p, k) => openSum[k] / Math.max(1, n) / p.tables.outChannels),
  };
}

/** Index of the largest value. */
export function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
