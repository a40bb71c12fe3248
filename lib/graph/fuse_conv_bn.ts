/**
 * A graph-to-graph rewrite that folds frozen, eval-mode batch norms into
 * the adjacent convolutions of a training graph (after `grad`):
 *
 * - forward, into the conv's epilogue with the additions after it:
 *   `add(add(bn(conv2d(x, w)), a), r)` becomes `conv2dBn(x, w, bn, [a, r])`.
 *   The conv output, the batch norm output and the partial sums are never
 *   stored, and the sum may be computed in the bytes of a full-size addend:
 *   a residual block's last conv writes into its shortcut's buffer, so the
 *   block never holds two full-size values at once;
 * - backward, into the conv's input gradient:
 *   `conv2dGradInput(batchNormGradInput(dy, γ, σ²), w)` reads `dy` scaled
 *   instead, so `dy · γ/√(σ²+ε)` is never stored beside `dy`.
 *
 * The same float operations, element for element (an `add` with the fused
 * operand second sums the same: addition is commutative), and the backward
 * graph keeps its order of summation, so losses and gradients keep their bits.
 * @module
 */
import { topoSort } from "./graph.ts";
import { isTrainable } from "./ops/source.ts";
import { conv2dBn, epilogueAddends, isEpilogueAddend } from "./ops/conv2d_bn.ts";
import { conv2dGradInput, convAttrs, gradInputParts } from "./ops/conv2d.ts";
import { rewrite } from "./transform.ts";
import { numel, type Tensor } from "./tensor.ts";

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Number of distinct readers of each node among `outputs`' graph, an output counting as one. */
function readerCounts(outputs: readonly Tensor[]): Map<Tensor, number> {
  const readers = new Map<Tensor, number>();
  for (const n of topoSort(outputs)) {
    for (const x of new Set(n.inputs)) readers.set(x, (readers.get(x) ?? 0) + 1);
  }
  for (const o of new Set(outputs)) readers.set(o, (readers.get(o) ?? 0) + 1);
  return readers;
}

/**
 * Rewrites `outputs` (a whole training graph: loss, kept values and
 * gradients or updates, so that every reader is seen) so that
 * - every eval-mode batch norm with frozen γ and statistics whose input is
 *   a `conv2d` nothing else reads becomes one `conv2dBn`;
 * - every `add` of such a fused value (read by nothing else) and an operand
 *   of its shape or `[N, C, 1, 1]` becomes an addend of it; where both
 *   operands are fused convs, the one with the larger input takes the sum
 *   (it runs last, so the larger input need not outlive the other's output);
 * - every `conv2dGradInput` of an eval-mode `batchNormGradInput` nothing
 *   else reads reads `dy` scaled by the batch norm instead.
 * Nodes in `keep` stay as they are; untouched subgraphs stay the same objects.
 */
export function fuseConvBn(
  outputs: readonly Tensor[],
  keep: ReadonlySet<Tensor> = new Set(),
): Tensor[] {
  const readers = readerCounts(outputs);
  const sole = (x: Tensor) => readers.get(x) === 1 && !keep.has(x);
  return rewrite(outputs, (n, inputs) => {
    if (keep.has(n)) return undefined;
    if (n.op === "batchNorm") {
      const [conv, gamma, beta, mean, variance] = inputs;
      const frozen = !isTrainable(gamma) && !isTrainable(mean) && !isTrainable(variance);
      if (n.attrs.mode !== "eval" || conv.op !== "conv2d" || !frozen || !sole(n.inputs[0])) {
        return undefined;
      }
      const [x, w] = conv.inputs;
      const bn = { gamma, beta, mean, variance };
      return conv2dBn(x, w, convAttrs(conv), bn, n.attrs.eps as number);
    }
    if (n.op === "conv2dGradInput") {
      const { dy, scale, base } = gradInputParts(n);
      if (scale || dy.op !== "batchNormGradInput" || !sole(dy)) return undefined;
      // Unscaled: the rewritten inputs are [bnGradInput, w, base?].
      const [bnGrad, w] = inputs;
      const [dyIn, gamma, variance] = bnGrad.inputs;
      const eps = bnGrad.attrs.eps as number;
      const b = base ? inputs[2] : undefined;
      return conv2dGradInput(dyIn, w, convAttrs(n), n.shape, b, { gamma, variance, eps });
    }
    if (n.op !== "add" || n.dtype !== "f32") return undefined;
    const fusable = (k: number) =>
      inputs[k].op === "conv2dBn" && sole(n.inputs[k]) && sameShape(inputs[k].shape, n.shape) &&
      isEpilogueAddend(inputs[1 - k].shape, n.shape);
    const ks = [0, 1].filter(fusable);
    if (ks.length === 0) return undefined;
    const inBytes = (k: number) => numel(inputs[k].inputs[0].shape);
    const k = ks.length === 2 && inBytes(1) > inBytes(0) ? 1 : ks[0];
    const f = inputs[k];
    const [x, w, gamma, beta, mean, variance] = f.inputs;
    const bn = { gamma, beta, mean, variance };
    const addends = [...epilogueAddends(f), inputs[1 - k]];
    return conv2dBn(x, w, convAttrs(f), bn, f.attrs.eps as number, addends);
  });
}
