/**
 * Executes a gating plan on one sample on the CPU. Nodes run in the plan's
 * order with the reference kernels, except:
 *
 * - a gated conv first decides its open output channels from its attention
 *   value (already computed: the plan orders it first) and the bound of its
 *   rule, then computes only those channels, reading only the open channels
 *   of its input, and applies BN, the attention add and the ReLU to them
 *   (fused; closed channels are zero);
 * - a conv reading a gated activation reads only its open channels.
 *
 * Values stay dense (`[1,C,H,W]`, closed channels zero), so every other
 * reader of a gated activation (e.g. the next attention's pooling) sees the
 * same value as without gating.
 * @module
 */
import {
  type ConvGeometry,
  convGeometryOf,
  nodeFlops,
  sourceName,
  type Tensor,
} from "../graph/mod.ts";
import { evalNode } from "../runtime/cpu/execute.ts";
import type { ParamStore, TensorData } from "../runtime/data.ts";
import { attentionPeaks, channelRanges, intervalTerms, l1Terms } from "./bound.ts";
import { convChannels } from "./conv_cpu.ts";
import { convFlops } from "./flops.ts";
import type { GatedConv, GatingPlan } from "./plan.ts";
import { GatingError } from "./rule.ts";

/** Relative margin by which an exact bound must clear zero before a gate closes (f32 rounding). */
export const EXACT_MARGIN = 1e-5;

/** What one gated sample did. */
export interface SampleResult {
  /** Logits `[classes]`. */
  readonly logits: Float32Array;
  /** FLOPs executed (conv and matmul, including the gate bounds). */
  readonly flops: number;
  /** Open output channels of each gated conv, in plan order. */
  readonly open: readonly number[];
}

/** Indices of the open channels of a gated conv for one sample. */
export function openChannels(
  p: GatedConv,
  x: Float32Array,
  xOpen: Int32Array | null,
  attention: Float32Array,
): Int32Array {
  const t = p.tables;
  if (p.rule.kind === "open") return Int32Array.from({ length: t.outChannels }, (_, c) => c);
  const plane = x.length / t.inChannels;
  const { lo, hi } = channelRanges(x, t.inChannels, plane, xOpen, t.pads);
  const peaks = attentionPeaks(attention, t.outChannels);
  const rule = p.rule;
  const terms = rule.kind === "exact-l1" ? l1Terms(t, lo, hi) : intervalTerms(t, lo, hi, xOpen);
  const open: number[] = [];
  for (let c = 0; c < t.outChannels; c++) {
    let isOpen: boolean;
    if (rule.kind === "calibrated") {
      isOpen = peaks[c] + t.shift[c] + p.kappa![c] * terms[c] > rule.tau;
    } else {
      const v = peaks[c] + t.shift[c] + terms[c];
      const margin = EXACT_MARGIN * (Math.abs(peaks[c]) + Math.abs(t.shift[c]) + terms[c]);
      isOpen = v > -margin;
    }
    if (isOpen) open.push(c);
  }
  return Int32Array.from(open);
}

/** `relu(s_c·y + t_c + a_c)` for the open channels, written densely (closed channels zero). */
function epilogue(
  p: GatedConv,
  y: Float32Array,
  outs: Int32Array,
  attention: Float32Array,
  plane: number,
): Float32Array {
  const { scale, shift, outChannels } = p.tables;
  const z = new Float32Array(outChannels * plane);
  const aPlane = attention.length / outChannels;
  outs.forEach((c, r) => {
    const s = Math.fround(scale[c]), t = Math.fround(shift[c]);
    for (let q = 0; q < plane; q++) {
      const v = s * y[r * plane + q] + t + attention[c * aPlane + (aPlane === 1 ? 0 : q)];
      z[c * plane + q] = v > 0 ? v : 0;
    }
  });
  return z;
}

function convOf(n: Tensor): ConvGeometry {
  const g = convGeometryOf(n);
  const [, , kh, kw] = g.w;
  if (kh !== kw || g.stride[0] !== g.stride[1] || g.padding[0] !== g.padding[1]) {
    throw new GatingError(`gated convs must be square, got ${n.inputs[1].shape}`);
  }
  return g;
}

/** Options of {@linkcode runGated}. */
export interface RunGatedOptions {
  /**
   * Kernel of the convs that skip nothing: `reference` (the CPU runtime's
   * conv, default) or `lists` (the channel-list conv with every channel
   * open, so gated and ungated runs time the same kernel).
   */
  readonly denseConv?: "reference" | "lists";
}

/** Runs `plan` on one sample `x` (`[3,H,W]` flattened) with `params`. */
export function runGated(
  plan: GatingPlan,
  params: ParamStore,
  x: Float32Array,
  options: RunGatedOptions = {},
): SampleResult {
  const lists = options.denseConv === "lists";
  const byConv = new Map<Tensor, GatedConv>();
  const fused = new Set<Tensor>();
  for (const p of plan.gated) {
    byConv.set(p.conv, p);
    fused.add(p.bn).add(p.preActivation).add(p.activation);
  }
  const readerOf = new Map<Tensor, Tensor>();
  for (const p of plan.gated) for (const r of p.readers) readerOf.set(r, p.activation);
  const values = new Map<Tensor, TensorData>();
  const openOf = new Map<Tensor, Int32Array>();
  const open: number[] = [];
  let flops = 0;
  for (const n of plan.order) {
    if (n.op === "input") {
      values.set(n, x);
      continue;
    }
    if (n.op === "param") {
      const v = params.get(sourceName(n));
      if (!v) throw new GatingError(`parameter "${sourceName(n)}" was not given`);
      values.set(n, v);
      continue;
    }
    if (fused.has(n)) continue;
    const gated = byConv.get(n);
    if (gated) {
      const xin = values.get(n.inputs[0]) as Float32Array;
      const xOpen = openOf.get(n.inputs[0]) ?? null;
      const a = values.get(gated.attention) as Float32Array;
      const outs = openChannels(gated, xin, xOpen, a);
      const g = convOf(n);
      const y = convChannels(g, xin, values.get(n.inputs[1]) as Float32Array, xOpen, outs);
      const z = epilogue(gated, y, outs, a, g.y[2] * g.y[3]);
      values.set(gated.activation, z);
      openOf.set(gated.activation, outs);
      open.push(outs.length);
      const ins = xOpen ? xOpen.length : g.x[1];
      flops += convFlops(n, outs.length, ins) + 2 * g.w[0] * ins;
      continue;
    }
    const source = readerOf.get(n);
    const sourceOpen = source ? openOf.get(source) : undefined;
    if (sourceOpen) {
      const g = convOf(n);
      const xin = values.get(n.inputs[0]) as Float32Array;
      values.set(
        n,
        convChannels(g, xin, values.get(n.inputs[1]) as Float32Array, sourceOpen, null),
      );
      flops += convFlops(n, g.w[0], sourceOpen.length);
      continue;
    }
    if (lists && n.op === "conv2d" && (n.attrs.groups as number) === 1) {
      const g = convOf(n);
      const xin = values.get(n.inputs[0]) as Float32Array;
      values.set(n, convChannels(g, xin, values.get(n.inputs[1]) as Float32Array, null, null));
    } else values.set(n, evalNode(n, n.inputs.map((i) => values.get(i)!)));
    flops += nodeFlops(n);
  }
  return { logits: values.get(plan.graph.outputs[0]) as Float32Array, flops, open };
}
