/**
 * Per-channel upper bounds on `max_p bn(conv(x))_c` computed from the frozen
 * weights and cheap statistics of one sample's conv input, without running
 * the conv. See `rule.ts` for the rules that use them.
 * @module
 */
import type { ConvBnSpec } from "../models/adaptor.ts";
import type { ParamStore } from "../runtime/data.ts";
import { GatingError } from "./rule.ts";

/** What the bounds of one conv→BN pair need, precomputed from its parameters. */
export interface BoundTables {
  /** Output channels C. */
  readonly outChannels: number;
  /** Input channels. */
  readonly inChannels: number;
  /** BN scale `s_c = γ_c / √(σ²_c + ε)`. */
  readonly scale: Float64Array;
  /** BN shift `t_c = β_c − s_c·μ_c`. */
  readonly shift: Float64Array;
  /** `Σ_taps max(s_c·W[c,i,tap], 0)`, `[C, Cin]`. */
  readonly positive: Float64Array;
  /** `Σ_taps min(s_c·W[c,i,tap], 0)`, `[C, Cin]`. */
  readonly negative: Float64Array;
  /** `|s_c|·‖W_c‖₁`. */
  readonly l1: Float64Array;
  /** Whether the conv pads (zero is then one of the values a tap sees). */
  readonly pads: boolean;
}

function get(params: ParamStore, name: string, length: number): Float32Array {
  const v = params.get(name);
  if (!v || v.length !== length) {
    throw new GatingError(
      `parameter "${name}" needs ${length} values, got ${v ? v.length : "none"}`,
    );
  }
  return v;
}

/** Precomputes the bound tables of `pair` from its conv weight and BN parameters. */
export function boundTables(pair: ConvBnSpec, params: ParamStore, eps = 1e-5): BoundTables {
  const { outChannels: c, inChannels: cin, kernel: k } = pair;
  const taps = k * k;
  const w = get(params, `${pair.conv}.weight`, c * cin * taps);
  const gamma = get(params, `${pair.bn}.weight`, c), beta = get(params, `${pair.bn}.bias`, c);
  const mu = get(params, `${pair.bn}.running_mean`, c);
  const variance = get(params, `${pair.bn}.running_var`, c);
  const scale = new Float64Array(c), shift = new Float64Array(c), l1 = new Float64Array(c);
  const positive = new Float64Array(c * cin), negative = new Float64Array(c * cin);
  for (let o = 0; o < c; o++) {
    const s = gamma[o] / Math.sqrt(variance[o] + eps);
    scale[o] = s;
    shift[o] = beta[o] - s * mu[o];
    let norm = 0;
    for (let i = 0; i < cin; i++) {
      let pos = 0, neg = 0;
      for (let t = 0; t < taps; t++) {
        const v = s * w[(o * cin + i) * taps + t];
        if (v > 0) pos += v;
        else neg += v;
        norm += Math.abs(v);
      }
      positive[o * cin + i] = pos;
      negative[o * cin + i] = neg;
    }
    l1[o] = norm;
  }
  return {
    outChannels: c,
    inChannels: cin,
    scale,
    shift,
    positive,
    negative,
    l1,
    pads: pair.padding > 0,
  };
}

/** Per-channel `[min, max]` of one sample `[Cin, H·W]`; channels not in `open` are zero. */
export function channelRanges(
  x: Float32Array,
  cin: number,
  plane: number,
  open: Int32Array | null,
  pads: boolean,
): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(cin), hi = new Float64Array(cin);
  const visit = (i: number) => {
    let a = pads ? 0 : Infinity, b = pads ? 0 : -Infinity;
    const base = i * plane;
    for (let p = 0; p < plane; p++) {
      const v = x[base + p];
      if (v < a) a = v;
      if (v > b) b = v;
    }
    lo[i] = a;
    hi[i] = b;
  };
  if (open) { for (const i of open) visit(i); }
  else for (let i = 0; i < cin; i++) visit(i);
  return { lo, hi };
}

/**
 * `U_c = Σ_i positive[c,i]·hi_i + negative[c,i]·lo_i` for every channel: the
 * largest value `s_c·conv(x)_c` can take at any position (exact arithmetic).
 */
export function intervalTerms(
  t: BoundTables,
  lo: Float64Array,
  hi: Float64Array,
  open: Int32Array | null,
): Float64Array {
  const u = new Float64Array(t.outChannels);
  const cin = t.inChannels;
  for (let o = 0; o < t.outChannels; o++) {
    let s = 0;
    const row = o * cin;
    if (open) {
      for (const i of open) s += t.positive[row + i] * hi[i] + t.negative[row + i] * lo[i];
    } else {
      for (let i = 0; i < cin; i++) s += t.positive[row + i] * hi[i] + t.negative[row + i] * lo[i];
    }
    u[o] = s;
  }
  return u;
}

/** `|s_c|·‖W_c‖₁·max|x|` for every channel. */
export function l1Terms(t: BoundTables, lo: Float64Array, hi: Float64Array): Float64Array {
  let m = 0;
  for (let i = 0; i < lo.length; i++) m = Math.max(m, Math.abs(lo[i]), Math.abs(hi[i]));
  return t.l1.map((v) => v * m);
}

/** Per-channel maximum of the attention value of one sample (`[C]` or `[C, H·W]`). */
export function attentionPeaks(a: Float32Array, c: number): Float64Array {
  const plane = a.length / c;
  const out = new Float64Array(c);
  for (let o = 0; o < c; o++) {
    let m = -Infinity;
    for (let p = 0; p < plane; p++) m = Math.max(m, a[o * plane + p]);
    out[o] = m;
  }
  return out;
}
