/**
 * The frozen backbones `deno task train` adapts, by name: each entry builds
 * its model for an adaptor, says its input side and the frozen-weight
 * storage that suits its source values, and loads its committed weights.
 *
 * - `mobilenetv2` (the default): the ImageNet-descended MobileNetV2 of npm
 *   nsfwjs (`models/mobilenetv2.safetensors`, affine u8 per tensor), cut
 *   after `block_10` and fed 32² by default; frozen weights stored as u8
 *   with one scale per tensor, the source's own layout (its bytes kept
 *   exactly). Its run defaults (6 epochs, lr 1e-3, the head started at the
 *   linear probe, batch-norm statistics re-estimated per domain) were
 *   chosen on the default run's validation accuracy within its 5-minute
 *   budget (README).
 * - `resnet20-mnist`: the ResNet-20 `deno task pretrain` fits on MNIST
 *   (`models/backbone.safetensors`, fp32), at 32²; frozen weights in f32
 *   unless asked; its run defaults are the earlier default run's.
 * @module
 */
import type { ParamStorage, ScaleGranularity } from "../graph/mod.ts";
import { type Backbone, BACKBONE_URL, loadBackbone } from "../io/backbone.ts";
import {
  MOBILENET_V2_CUTS,
  mobilenetV2,
  type MobilenetV2Cut,
  mobilenetV2SizeIssue,
  resnet20,
} from "../models/mod.ts";
import type { HeadInit, ModelBuilder } from "./model_builder.ts";

/** The committed MobileNetV2 weights, relative to the repository root. */
export const MOBILENET_V2_URL: URL = new URL(
  "../../models/mobilenetv2.safetensors",
  import.meta.url,
);

/** The backbones `--backbone` names, the default first. */
export const BACKBONE_NAMES = ["mobilenetv2", "resnet20-mnist"] as const;

/** A registered backbone's name. */
export type BackboneName = typeof BACKBONE_NAMES[number];

/** A training run's settings on a backbone when the config does not set them. */
export interface RunDefaults {
  /** Passes over the training set. */
  readonly epochs: number;
  /** Learning rate. */
  readonly lr: number;
  /** How the new head starts (methods other than `probe`). */
  readonly headInit: HeadInit;
  /** Batch-norm statistics of the trained methods (`--method probe` alone keeps `source`). */
  readonly bnStats: "source" | "domain";
  /** Training examples per domain (undefined: all). */
  readonly limit?: number;
}

/** A registered backbone. */
export interface BackboneEntry {
  /** Its name. */
  readonly name: BackboneName;
  /** Input side when none is asked. */
  readonly size: number;
  /** The cuts it offers, shallowest first (empty: the whole network, no choice). */
  readonly cuts: readonly MobilenetV2Cut[];
  /** The cut when none is asked (undefined when it offers none). */
  readonly cut?: MobilenetV2Cut;
  /** Storage of its frozen conv and linear weights when none is asked. */
  readonly frozenWeights: ParamStorage;
  /** Scale granularity of its frozen weights stored as u8. */
  readonly frozenScales: ScaleGranularity;
  /** Why `size` cannot be its input side at `cut`, or undefined when it can. */
  readonly sizeIssue: (size: number, cut?: MobilenetV2Cut) => string | undefined;
  /** Its model builder at input side `size` (and `cut`). */
  readonly model: (size: number, cut?: MobilenetV2Cut) => ModelBuilder;
  /** Reads its committed weights. */
  readonly load: () => Promise<Backbone>;
  /** The run settings `deno task train` uses on it unless told otherwise. */
  readonly defaults: RunDefaults;
}

/** ResNet-20 on `size`² images (default 32, as pre-trained). */
export function resnet20Model(size = 32): ModelBuilder {
  return (adaptor, { batch, classes }) => resnet20({ adaptor, classes, batch, size });
}

/** Every registered backbone, by name. */
export const BACKBONES: Readonly<Record<BackboneName, BackboneEntry>> = {
  "resnet20-mnist": {
    name: "resnet20-mnist",
    size: 32,
    cuts: [],
    frozenWeights: "f32",
    frozenScales: "channel",
    sizeIssue: (size) =>
      Number.isInteger(size) && size >= 8 ? undefined : `input side ${size} must be ≥ 8`,
    model: (size) => resnet20Model(size),
    load: () => loadBackbone(BACKBONE_URL),
    defaults: { epochs: 2, lr: 1e-3, headInit: "normal", bnStats: "source" },
  },
  mobilenetv2: {
    name: "mobilenetv2",
    size: 32,
    cuts: MOBILENET_V2_CUTS,
    cut: "block_10",
    frozenWeights: "u8",
    frozenScales: "tensor",
    sizeIssue: (size, cut = "block_10") => mobilenetV2SizeIssue(size, cut),
    model: (size, cut) => (adaptor, { batch, classes }) =>
      mobilenetV2({ adaptor, classes, batch, size, ...(cut ? { cut } : {}) }),
    load: () => loadBackbone(MOBILENET_V2_URL),
    defaults: { epochs: 6, lr: 1e-3, headInit: "probe", bnStats: "domain" },
  },
};

/** What a run asks of its backbone (a validated config's fields). */
export interface BackboneRequest {
  /** The backbone's name. */
  readonly backbone: BackboneName;
  /** Input side (default the backbone's). */
  readonly size?: number;
  /** Cut (MobileNetV2 only; default the backbone's). */
  readonly cut?: MobilenetV2Cut;
  /** Frozen-weight storage (default the backbone's). */
  readonly frozenWeights?: ParamStorage;
}

/** A backbone as a run uses it: entry, input side, cut and frozen storage resolved. */
export interface SelectedBackbone {
  /** Its name. */
  readonly name: BackboneName;
  /** Input side. */
  readonly size: number;
  /** Cut, when the backbone offers cuts. */
  readonly cut?: MobilenetV2Cut;
  /** Storage of the frozen conv and linear weights. */
  readonly frozenWeights: ParamStorage;
  /** Scale granularity of u8 frozen weights. */
  readonly frozenScales: ScaleGranularity;
  /** The model builder. */
  readonly model: ModelBuilder;
  /** Reads the weights. */
  readonly load: () => Promise<Backbone>;
  /** What the run record stores of it (compared on resume). */
  readonly record: { readonly name: BackboneName; readonly size: number; readonly cut?: string };
}

/** Thrown for a backbone request that cannot be built; names the field. */
export class BackboneChoiceError extends Error {
  /** The field at fault (`cut` or `size`). */
  readonly field: "cut" | "size";
  /** Creates the error. */
  constructor(field: "cut" | "size", message: string) {
    super(message);
    this.name = "BackboneChoiceError";
    this.field = field;
  }
}

/**
 * Why `request` cannot be built, as the field at fault and a message, or
 * undefined when it can (a cut on a backbone without cuts, an input side
 * its stride-2 layers cannot take).
 */
export function backboneIssue(
  request: BackboneRequest,
): { field: "cut" | "size"; message: string } | undefined {
  const entry = BACKBONES[request.backbone];
  if (request.cut !== undefined && !entry.cuts.includes(request.cut)) {
    const offered = entry.cuts.length > 0 ? `one of ${entry.cuts.join(", ")}` : "none";
    return {
      field: "cut",
      message: `${entry.name} takes no cut ${request.cut} (cuts: ${offered})`,
    };
  }
  const size = request.size ?? entry.size;
  const issue = entry.sizeIssue(size, request.cut ?? entry.cut);
  if (issue === undefined) return undefined;
  const field = request.size === undefined ? "cut" : "size";
  return { field, message: `${entry.name}: ${issue}` };
}

/** The backbone `request` selects, defaults filled; throws BackboneChoiceError naming a bad field. */
export function selectBackbone(request: BackboneRequest): SelectedBackbone {
  const bad = backboneIssue(request);
  if (bad) throw new BackboneChoiceError(bad.field, bad.message);
  const entry = BACKBONES[request.backbone];
  const size = request.size ?? entry.size;
  const cut = request.cut ?? entry.cut;
  return {
    name: entry.name,
    size,
    ...(cut ? { cut } : {}),
    frozenWeights: request.frozenWeights ?? entry.frozenWeights,
    frozenScales: entry.frozenScales,
    model: entry.model(size, cut),
    load: entry.load,
    record: { name: entry.name, size, ...(cut ? { cut } : {}) },
  };
}
