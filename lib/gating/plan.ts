/**
 * The gating-aware inference plan of a DA³ model: a batch-1 inference
 * graph, an order in which each attention term runs before the frozen conv
 * it gates, and per gated conv its rule and bound tables.
 * @module
 */
import { type Graph, graph, type Tensor } from "../graph/mod.ts";
import type { Model } from "../models/model.ts";
import type { ParamStore } from "../runtime/data.ts";
import { type BoundTables, boundTables } from "./bound.ts";
import { type GateRule, GatingError, type GatingMode, ruleOf } from "./rule.ts";
import { checkPrecedence, gatingAwareOrder } from "./schedule.ts";
import { findGatedPairs, type GatedPairNodes } from "./structure.ts";

/** Per-channel calibration of one gated conv: `κ_c` of the calibrated bound. */
export type PairCalibration = Float64Array;

/** Calibration of a model on one domain: `κ` per gated conv, keyed by its conv parameter prefix. */
export interface Calibration {
  /** `κ_c` per channel, by `ConvBnSpec.conv`. */
  readonly kappa: ReadonlyMap<string, PairCalibration>;
  /** Number of held-out samples the calibration saw. */
  readonly samples: number;
}

/** One gated conv of a plan. */
export interface GatedConv extends GatedPairNodes {
  /** Bound tables from the conv weight and BN parameters. */
  readonly tables: BoundTables;
  /** The rule deciding which output channels run. */
  readonly rule: GateRule;
  /** `κ_c` for a calibrated rule (else null). */
  readonly kappa: PairCalibration | null;
}

/** A gating-aware inference plan (batch 1; samples are gated one by one). */
export interface GatingPlan {
  /** The batch-1 inference graph (output: logits). */
  readonly graph: Graph;
  /** Every node of `graph`, each after its inputs and every attention before the conv it gates. */
  readonly order: readonly Tensor[];
  /** The gated convs, in network order (empty when gating is off). */
  readonly gated: readonly GatedConv[];
  /** The rule every gated conv applies. */
  readonly rule: GateRule;
}

/** Options of {@linkcode planGating}. */
export interface PlanGatingOptions {
  /** Required for a calibrated (`{ tau }`) mode. */
  readonly calibration?: Calibration;
}

/**
 * Plans gated inference of `model` (built with batch 1 and the DA³ adaptor)
 * with `params`. With `off` nothing is gated and the order is the graph's.
 */
export function planGating(
  model: Model,
  params: ParamStore,
  mode: GatingMode,
  options: PlanGatingOptions = {},
): GatingPlan {
  if (model.input.shape[0] !== 1) {
    throw new GatingError(`gated inference plans a batch-1 model, got input ${model.input.shape}`);
  }
  const rule = ruleOf(mode);
  const g = graph(model.logits);
  if (rule.kind === "off") return { graph: g, order: g.nodes, gated: [], rule };
  const pairs = findGatedPairs(model, g);
  if (pairs.length === 0) {
    throw new GatingError(
      `${model.name} has no DA³ pair whose attention is added right before a ReLU`,
    );
  }
  const gated = pairs.map((p): GatedConv => {
    let kappa: PairCalibration | null = null;
    if (rule.kind === "calibrated") {
      const k = options.calibration?.kappa.get(p.pair.conv);
      if (!k) {
        throw new GatingError(
          `gating { tau: ${rule.tau} } needs a calibration of ${p.pair.conv} (calibrateGates)`,
        );
      }
      kappa = k;
    }
    return { ...p, tables: boundTables(p.pair, params), rule, kappa };
  });
  const after = new Map(gated.map((p) => [p.conv, [p.attention]]));
  const order = gatingAwareOrder(g, after);
  checkPrecedence(order, gated.map((p) => [p.attention, p.conv] as const));
  return { graph: g, order, gated, rule };
}
