/**
 * Everything a gating measurement of one domain needs, loaded from files:
 * the batch-1 DA³ model, the backbone overlaid with the domain checkpoint,
 * the normalized test images and the normalized calibration images.
 * @module
 */
import { type Batch, makeBatch } from "../data/batch.ts";
import { domainInfo } from "../data/domains.ts";
import type { Model } from "../models/model.ts";
import type { ParamStore } from "../runtime/data.ts";
import { loadGatingData } from "./data.ts";
import { da3Resnet20 } from "./infer.ts";
import { loadAdapted } from "./weights.ts";

/** Where the weights and how much data to use. */
export interface DomainSetupOptions {
  /** Target domain. */
  readonly domain: string;
  /** Backbone safetensors file. */
  readonly backbone: string;
  /** Domain checkpoint (adaptor and head). */
  readonly checkpoint: string;
  /** Test images to evaluate (default 1000). */
  readonly testLimit?: number;
  /** Held-out images to calibrate on (default 300). */
  readonly calibration?: number;
}

/** A loaded domain. */
export interface DomainSetup {
  /** Batch-1 DA³ ResNet-20. */
  readonly model: Model;
  /** Backbone and domain parameters. */
  readonly params: ParamStore;
  /** Normalized test images and labels. */
  readonly test: Batch;
  /** Normalized held-out calibration images, `[n,3,32,32]` flattened. */
  readonly calibration: Float32Array;
}

function first(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Loads model, weights, test and calibration images of one domain. */
export async function setupDomain(options: DomainSetupOptions): Promise<DomainSetup> {
  const info = domainInfo(options.domain);
  const data = await loadGatingData(options.domain, { testLimit: options.testLimit ?? 1000 });
  const { params, options: da3Options } = await loadAdapted(options.backbone, options.checkpoint);
  const cal = Math.min(options.calibration ?? 300, data.calibration.labels.length);
  return {
    model: da3Resnet20(info.classes.length, da3Options),
    params,
    test: makeBatch(data.test, first(data.test.labels.length), data.stats),
    calibration: makeBatch(data.calibration, first(cal), data.stats).x,
  };
}
