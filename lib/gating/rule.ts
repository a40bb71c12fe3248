/**
 * Gating modes and the rule each gated conv applies to decide, per sample,
 * which of its output channels run.
 *
 * For a DA³ pair `z = relu(bn(conv(x)) + a(x))` with `bn(y)_c = s_c·y_c + t_c`,
 * channel `c` of `z` is zero at every position when
 * `max_p a_c(x)[p] + max_p bn(conv(x))_c[p] ≤ 0`. The rules bound the second
 * term without running the conv:
 *
 * - `exact`: the interval bound `t_c + U_c(x)`, where
 *   `U_c(x) = Σ_i Σ_taps max(s_c·W[c,i,tap]·M_i, s_c·W[c,i,tap]·m_i)` and
 *   `[m_i, M_i]` is the range of input channel `i` over the sample (0 included
 *   where the conv pads). It is sound: a closed channel's output is exactly
 *   zero (up to f32 rounding of the conv), and it is never looser than `exact-l1`.
 * - `exact-l1`: the bound `t_c + |s_c|·‖W_c‖₁·max|x|` (sound, looser).
 * - `{ tau }` (calibrated): the bound `t_c + κ_c·U_c(x)`, where `κ_c ≤ 1` is
 *   the largest ratio `(max_p bn(conv(x))_c − t_c) / U_c(x)` seen on held-out
 *   calibration samples (so the bound held on every one of them). The gate
 *   closes when `max_p a_c(x) + t_c + κ_c·U_c(x) ≤ τ`: τ is the largest
 *   predicted peak activation that is dropped. With τ = 0 the rule is sound
 *   on the calibration samples; τ > 0 also zeroes channels whose activation
 *   is predicted to stay at or below τ everywhere; τ < 0 is more cautious.
 * - `open`: the gated executor (fused conv→BN→add→ReLU, channel-list convs)
 *   with every gate open: the baseline that isolates what skipping saves.
 * @module
 */

/** Which rule gates the DA³ pairs: none, a sound bound, or a calibrated bound with threshold τ. */
export type GatingMode = "off" | "open" | "exact" | "exact-l1" | { readonly tau: number };

/** The rule of one gated conv, as held in a gating plan. */
export type GateRule =
  | { readonly kind: "off" }
  | { readonly kind: "open" }
  | { readonly kind: "exact" }
  | { readonly kind: "exact-l1" }
  | { readonly kind: "calibrated"; readonly tau: number };

/** Thrown when a model, mode or calibration does not allow the requested gating. */
export class GatingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GatingError";
  }
}

/** The rule for a mode. */
export function ruleOf(mode: GatingMode): GateRule {
  if (mode === "off" || mode === "open" || mode === "exact" || mode === "exact-l1") {
    return { kind: mode };
  }
  if (typeof mode === "object" && mode !== null && Number.isFinite(mode.tau)) {
    return { kind: "calibrated", tau: mode.tau };
  }
  throw new GatingError(
    `gating must be "off", "exact", "exact-l1" or { tau: number }, got ${JSON.stringify(mode)}`,
  );
}

/** Parses a command-line gating value: `off`, `open`, `exact`, `exact-l1` or a number τ. */
export function parseGatingMode(text: string): GatingMode {
  const t = text.trim();
  if (t === "off" || t === "open" || t === "exact" || t === "exact-l1") return t;
  const tau = Number(t);
  if (t !== "" && Number.isFinite(tau)) return { tau };
  throw new GatingError(`--gating must be off, open, exact, exact-l1 or a number τ, got "${text}"`);
}

/** A mode as text: `off`, `exact`, `exact-l1` or `tau=<τ>`. */
export function formatGatingMode(mode: GatingMode): string {
  return typeof mode === "string" ? mode : `tau=${mode.tau}`;
}
