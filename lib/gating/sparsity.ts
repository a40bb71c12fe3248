/**
 * Training DA³ adaptors that close gates. A gated channel `c` of
 * `relu(bn(conv(x)) + a(x))` is skipped at inference when its attention is
 * below minus the peak `bn(conv(x))_c` can reach, so the penalty is a hinge
 * on that margin, `relu(a_c(x) + B_c)`, with `B_c` the peak of the frozen
 * `bn(conv(x))_c` over training samples and positions (fitted before
 * training, while every attention is still zero). Each pair's mean hinge is
 * weighted by the share of the backbone FLOPs that closing one of its
 * channels saves (its conv's output channel and its readers' input channel),
 * so the penalty is a FLOP-weighted mean. Its backward keeps one bit per
 * `[N, C]` hinge: no activation memory.
 * @module
 */
import { add, graph, mean, param, relu, scale, type Tensor } from "../graph/mod.ts";
import type { GatedPairNodes } from "./structure.ts";
import type { ParamStore, Runtime } from "../runtime/data.ts";
import { runGraph } from "../runtime/run_graph.ts";

/** The frozen parameter holding `B_c` of a gated pair, `[1, C, 1, 1]`. */
export function gateBoundName(pair: GatedPairNodes): string {
  return `${pair.pair.conv}.da3.gate_bound`;
}

/** Multiply-accumulates one closed output channel of `p` saves: its conv's and its readers'. */
export function channelCost(p: GatedPairNodes): number {
  const convCost = (conv: Tensor, perChannel: "out" | "in") => {
    const [cout, cinPerGroup, kh, kw] = conv.inputs[1].shape;
    const [, , ho, wo] = conv.shape;
    return (perChannel === "out" ? cinPerGroup : cout) * kh * kw * ho * wo;
  };
  return convCost(p.conv, "out") + p.readers.reduce((s, r) => s + convCost(r, "in"), 0);
}

/** `Σ_p share_p · mean_{n,c} relu(a_p(x)_{n,c} + B_{p,c})`, shares ∝ channels × channel cost. */
export function gateSparsityPenalty(pairs: readonly GatedPairNodes[]): Tensor {
  if (pairs.length === 0) throw new Error("gate sparsity needs at least one gated DA³ pair");
  const weight = pairs.map((p) => p.pair.outChannels * channelCost(p));
  const total = weight.reduce((a, b) => a + b, 0);
  return pairs
    .map((p, i) => {
      const bound = param(gateBoundName(p), [1, p.pair.outChannels, 1, 1], {
        trainable: false,
        init: "zeros",
      });
      return scale(mean(relu(add(p.attention, bound))), weight[i] / total);
    })
    .reduce((s, t) => add(s, t));
}

/**
 * Fits `B_c` of every pair: the largest `bn(conv(x))_c` over the batches of
 * `inputs`, executed with `params` (where the attention is still zero);
 * writes them into `params`.
 */
export async function fitGateBounds(
  runtime: Runtime,
  pairs: readonly GatedPairNodes[],
  inputs: Iterable<Float32Array>,
  params: ParamStore,
): Promise<void> {
  const probe = graph(...pairs.map((p) => p.bn));
  const peaks = pairs.map((p) => new Float32Array(p.pair.outChannels).fill(-Infinity));
  for (const x of inputs) {
    const out = await runGraph(runtime, probe, { inputs: { x }, params });
    pairs.forEach((p, k) => {
      const v = out[k] as Float32Array, [n, c] = p.bn.shape;
      const plane = v.length / (n * c);
      for (let i = 0; i < v.length; i++) {
        const ch = Math.floor(i / plane) % c;
        if (v[i] > peaks[k][ch]) peaks[k][ch] = v[i];
      }
    });
  }
  pairs.forEach((p, k) => params.set(gateBoundName(p), peaks[k].map((v) => Math.max(v, 0))));
}
