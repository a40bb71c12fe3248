/**
 * Measuring gated inference against ungated inference in one run on the
 * same backend (the ungated plan is normally `open`: same executor, every
 * gate open, so the difference is what skipping saves): accuracy, FLOPs and wall-clock time per image, with the
 * two timed in alternating chunks (and alternating order within a chunk)
 * so that machine load and warm caches affect both alike.
 * @module
 */
import type { Batch } from "../data/batch.ts";
import type { ParamStore } from "../runtime/data.ts";
import { runGated } from "./execute.ts";
import { backboneFlops } from "./flops.ts";
import { argmax } from "./infer.ts";
import type { GatingPlan } from "./plan.ts";

/** The measured figures of one gating setting on one test set. */
export interface GatingMeasurement {
  /** Top-1 accuracy with gating, in [0, 1]. */
  readonly top1: number;
  /** Top-1 accuracy without gating (null when ungated runs covered only part of the set). */
  readonly top1Ungated: number | null;
  /** Mean FLOPs executed per image with gating. */
  readonly flopsExecuted: number;
  /** FLOPs per image without gating. */
  readonly flopsUngated: number;
  /** Ungated FLOPs per image of the frozen backbone convs. */
  readonly backboneFlops: number;
  /** Share of the backbone's FLOPs skipped, in [0, 1]. */
  readonly skippedBackbone: number;
  /** Milliseconds per image with gating. */
  readonly msPerImage: number;
  /** Milliseconds per image without gating, same run. */
  readonly msPerImageUngated: number;
  /** Mean open share of each gated conv's output channels. */
  readonly openFraction: readonly number[];
  /** Images evaluated. */
  readonly images: number;
}

/** Options of {@linkcode measureGating}. */
export interface MeasureOptions {
  /** Images per timed chunk (default 20). */
  readonly chunk?: number;
  /** Time the ungated plan on every k-th chunk only (default 1: every chunk). */
  readonly ungatedEvery?: number;
  /** Images run untimed first through both plans (default 4). */
  readonly warmup?: number;
  /** Kernel of the convs that skip nothing, in both runs (default `lists`; see `runGated`). */
  readonly denseConv?: "reference" | "lists";
}

/**
 * Runs `gated` on every image of `data` and `ungated` on every
 * `ungatedEvery`-th chunk, alternating chunk by chunk, and reports both.
 */
export function measureGating(
  gated: GatingPlan,
  ungated: GatingPlan,
  params: ParamStore,
  data: Batch,
  options: MeasureOptions = {},
): GatingMeasurement {
  const chunk = options.chunk ?? 20, every = options.ungatedEvery ?? 1;
  const [n, c, h, w] = data.shape, size = c * h * w;
  const image = (i: number) => data.x.subarray(i * size, (i + 1) * size);
  const run = { denseConv: options.denseConv ?? "lists" } as const;
  for (let i = 0; i < Math.min(options.warmup ?? 4, n); i++) {
    runGated(gated, params, image(i), run);
    runGated(ungated, params, image(i), run);
  }
  let right = 0, rightUngated = 0, ungatedImages = 0, flops = 0, msG = 0, msU = 0;
  const openSum = gated.gated.map(() => 0);
  for (let start = 0, k = 0; start < n; start += chunk, k++) {
    const end = Math.min(n, start + chunk);
    const timeUngated = () => {
      const t0 = performance.now();
      for (let i = start; i < end; i++) {
        if (argmax(runGated(ungated, params, image(i), run).logits) === data.y[i]) rightUngated++;
      }
      msU += performance.now() - t0;
      ungatedImages += end - start;
    };
    // Alternate which run goes first so that neither always finds the caches warm.
    const both = k % every === 0;
    if (both && k % 2 === 0) timeUngated();
    const t1 = performance.now();
    for (let i = start; i < end; i++) {
      const r = runGated(gated, params, image(i), run);
      if (argmax(r.logits) === data.y[i]) right++;
      flops += r.flops;
      r.open.forEach((o, j) => (openSum[j] += o));
    }
    msG += performance.now() - t1;
    if (both && k % 2 === 1) timeUngated();
  }
  const full = backboneFlops(gated.graph);
  const executed = flops / n;
  return {
    top1: right / n,
    top1Ungated: ungatedImages === n ? rightUngated / n : null,
    flopsExecuted: executed,
    flopsUngated: full.total,
    backboneFlops: full.backbone,
    skippedBackbone: (full.total - executed) / full.backbone,
    msPerImage: msG / n,
    msPerImageUngated: msU / Math.max(1, ungatedImages),
    openFraction: gated.gated.map((p, j) => openSum[j] / n / p.tables.outChannels),
    images: n,
  };
}
