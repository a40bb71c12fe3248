/**
 * Calibrating the gate bounds on held-out samples: per gated conv and
 * channel, `κ_c = max over samples of (max_p bn(conv(x))_c − t_c) / U_c(x)`
 * (at most 1, since `t_c + U_c(x)` is a sound bound), so that the calibrated
 * bound `t_c + κ_c·U_c(x)` held on every calibration sample.
 * @module
 */
import { graph } from "../graph/mod.ts";
import type { Model } from "../models/model.ts";
import { executeCpu } from "../runtime/cpu/execute.ts";
import type { ParamStore } from "../runtime/data.ts";
import { channelRanges, intervalTerms } from "./bound.ts";
import type { Calibration } from "./plan.ts";
import { planGating } from "./plan.ts";

/**
 * Fits `κ` for every gated conv of `model` (batch 1, DA³) from `samples`
 * (`[n, 3, H, W]` flattened, normalized like the test data), running each
 * sample ungated.
 */
export function calibrateGates(
  model: Model,
  params: ParamStore,
  samples: Float32Array,
): Calibration {
  const plan = planGating(model, params, "exact");
  const probe = graph(...plan.gated.flatMap((p) => [p.conv.inputs[0], p.bn]));
  const size = model.input.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = samples.length / size;
  const kappa = plan.gated.map((p) => new Float64Array(p.tables.outChannels).fill(-Infinity));
  for (let s = 0; s < n; s++) {
    const x = samples.subarray(s * size, (s + 1) * size);
    const out = executeCpu(probe, { inputs: { x }, params });
    plan.gated.forEach((p, k) => {
      const t = p.tables;
      const xin = out[2 * k] as Float32Array, bn = out[2 * k + 1] as Float32Array;
      const { lo, hi } = channelRanges(xin, t.inChannels, xin.length / t.inChannels, null, t.pads);
      const u = intervalTerms(t, lo, hi, null);
      const plane = bn.length / t.outChannels;
      for (let c = 0; c < t.outChannels; c++) {
        let peak = -Infinity;
        for (let q = 0; q < plane; q++) peak = Math.max(peak, bn[c * plane + q]);
        if (u[c] > 0) kappa[k][c] = Math.max(kappa[k][c], (peak - t.shift[c]) / u[c]);
      }
    });
  }
  const map = new Map<string, Float64Array>();
  plan.gated.forEach((p, k) => {
    map.set(p.pair.conv, kappa[k].map((v) => (Number.isFinite(v) ? Math.min(v, 1) : 1)));
  });
  return { kappa: map, samples: n };
}
