/**
 * DA³ dynamic gating at inference: a gating-aware plan (each attention term
 * before the frozen conv it gates), sound and calibrated per-channel bounds,
 * CPU convs that skip closed channels, and {@linkcode infer}.
 *
 * @example
 * ```ts
 * import { da3Resnet20, infer } from "./mod.ts";
 * import { initParams } from "../runtime/params.ts";
 * import { graph } from "../graph/mod.ts";
 *
 * const model = da3Resnet20(10);
 * const backbone = initParams(graph(model.logits), 0);
 * const m = { model, backbone, domains: new Map([["fashion", { params: new Map() }]]) };
 * const r = infer(m, "fashion", new Float32Array(3 * 32 * 32), { gating: "exact" });
 * console.log(r.predictions, r.flopsExecuted / r.flopsUngated);
 * ```
 * @module
 */
export * from "./rule.ts";
export * from "./structure.ts";
export * from "./schedule.ts";
export * from "./bound.ts";
export * from "./conv_cpu.ts";
export * from "./flops.ts";
export * from "./plan.ts";
export * from "./execute.ts";
export * from "./calibrate.ts";
export * from "./infer.ts";
export * from "./data.ts";
export * from "./weights.ts";
export * from "./sparsity.ts";
export * from "./measure.ts";
export * from "./setup.ts";
export * from "./report.ts";
