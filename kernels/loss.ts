/**
 * WGSL for softmax cross-entropy over `[N,K]` logits with `i32` labels, and
 * its gradient. Like the CPU, each row's `p[label]` is clamped at 1e-30, so
 * a row's loss never exceeds `−log 1e-30`.
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

/** Mean over rows of `−log softmax(logits)[label]`, by one workgroup. */
export function softmaxCrossEntropy(rows: number, k: number): Kernel {
  const decls = bindings([["logits", "f32"], ["labels", "i32"], ["loss", "f32"]]);
  const body = `  var acc = 0.0f;
  for (var r = lid; r < ${u32(rows)}; r = r + SIZE) {
${rowStats(k, "r")}
    let nll = log(sum) - (logits[row + u32(labels[r])] - mx);
    acc = acc + min(nll, ${f32(-Math.log(1e-30))});
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { loss[0] = total / ${f32(rows)}; }`;
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
