/**
 * WGSL for softmax cross-entropy over `[N,K]` logits with `i32` labels, and
 * its gradient. Like the CPU, each row's `p[label]` is clamped at 1e-30, so
 * a row's loss never exceeds `−log 1e-30`; and like the CPU, a NaN or +∞
 * logit makes the loss NaN. WGSL lets `min`, `max` and `x != x` ignore NaN,
 * so the kernel tests each logit's bits and writes the NaN's bits itself.
 * @module
 */
import { bindings, f32, type Kernel, perIndex, perSegment, u32 } from "./wgsl.ts";

/** WGSL defining `mx` (row max) and `sum` (Σ e^(x−mx)) of row `r`. */
function rowStats(k: number, r: string): string {
  return `  let row = ${r} * ${u32(k)};
  var mx = bitcast<f32>(0xff800000u);
  for (var j = 0u; j < ${u32(k)}; j = j + 1u) { mx = max(mx, logits[row + j]); }
  var sum = 0.0f;
  for (var j = 0u; j < ${u32(k)}; j = j + 1u) { sum = sum + exp(logits[row + j] - mx); }`;
}

/** WGSL: whether `v`'s bits are a NaN or +∞ (the logits that make the CPU's loss NaN). */
const NAN_OR_POS_INF = `fn nanOrPosInf(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return (b & 0x7f800000u) == 0x7f800000u && b != 0xff800000u;
}`;

/**
 * Mean over rows of `−log softmax(logits)[label]`, by one workgroup; NaN
 * (the bits `0x7fc00000`) when any logit is NaN or +∞.
 */
export function softmaxCrossEntropy(rows: number, k: number): Kernel {
  const decls = `${bindings([["logits", "f32"], ["labels", "i32"], ["loss", "f32"]])}
${NAN_OR_POS_INF}`;
  const body = `  var acc = 0.0f;
  var bad = 0.0f;
  for (var r = lid; r < ${u32(rows)}; r = r + SIZE) {
${rowStats(k, "r")}
    for (var j = 0u; j < ${u32(k)}; j = j + 1u) {
      if (nanOrPosInf(logits[row + j])) { bad = 1.0f; }
    }
    let nll = log(sum) - (logits[row + u32(labels[r])] - mx);
    acc = acc + min(nll, ${f32(-Math.log(1e-30))});
  }
  let total = wgSum(acc, lid);
  let nonFinite = wgSum(bad, lid);
  if (lid == 0u) {
    let mean = bitcast<u32>(total / ${f32(rows)});
    loss[0] = bitcast<f32>(select(mean, 0x7fc00000u, nonFinite > 0.0f));
  }`;
  return perSegment("softmaxCrossEntropy", decls, 1, rows, body);
}

/** `(softmax − onehot) · dy / N`, one thread per row. */
export function softmaxCrossEntropyGrad(rows: number, k: number): Kernel {
  const decls = bindings([["logits", "f32"], ["labels", "i32"], ["dy", "f32"], ["dx", "f32"]]);
  const body = `${rowStats(k, "i")}
  let label = u32(labels[i]);
  let s = dy[0] / ${f32(rows)};
  for (var j = 0u; j < ${u32(k)}; j = j + 1u) {
    let p = exp(logits[row + j] - mx) / sum;
    dx[row + j] = (p - select(0.0f, 1.0f, j == label)) * s;
  }`;
  return perIndex("softmaxCrossEntropyGrad", decls, rows, body);
}
