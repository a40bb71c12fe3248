/**
 * A graph-to-graph rewrite that sums the gradients of a fork into one
 * buffer: where a value feeds several ops, its gradient is
 * `add(g₁, conv2dGradInput(dy, w))`, two full-size buffers live at once.
 * With a base, the conv's input gradient adds itself to `g₁`, and the
 * planner computes it in `g₁`'s bytes: `add(a, conv2dGradInput(dy, w))`
 * becomes `conv2dGradInput(dy, w, base = a)`. The same sum, element for
 * element: `a + ∂x`.
 * @module
 */
import {
  conv2dGradInput,
  convAttrs,
  convGeometryOf,
  gradInputParts,
  isDepthwise,
  rewrite,
  type Tensor,
  topoSort,
} from "../graph/mod.ts";

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Rewrites `outputs` so that each `add` of a full-size value and a plain
 * conv input gradient that nothing else reads becomes that input gradient
 * with the value as its base (depthwise convs keep their own kernel and no
 * base). When both operands qualify, the second sums
 * into the first. Nodes in `keep` (e.g. the forward pass) stay as they are.
 */
export function accumulateConvGrads(
  outputs: readonly Tensor[],
  keep: ReadonlySet<Tensor> = new Set(),
): Tensor[] {
  const readers = new Map<Tensor, number>();
  for (const n of topoSort(outputs)) {
    for (const x of new Set(n.inputs)) readers.set(x, (readers.get(x) ?? 0) + 1);
  }
  for (const o of outputs) readers.set(o, (readers.get(o) ?? 0) + 1);
  // Decided on the original nodes: the rewritten ones are fresh objects.
  const sole = (x: Tensor) =>
    x.op === "conv2dGradInput" && !gradInputParts(x).base && readers.get(x) === 1 &&
    !isDepthwise(convGeometryOf(x));
  return rewrite(outputs, (n, inputs) => {
    if (n.op !== "add" || keep.has(n) || n.dtype !== "f32") return undefined;
    if (n.inputs[0] === n.inputs[1]) return undefined;
    const [a, b] = inputs;
    if (!sameShape(a.shape, n.shape) || !sameShape(b.shape, n.shape)) return undefined;
    const k = sole(n.inputs[1]) ? 1 : sole(n.inputs[0]) ? 0 : -1;
    if (k < 0) return undefined;
    const conv = inputs[k], base = inputs[1 - k];
    const { dy, w, scale } = gradInputParts(conv);
    return conv2dGradInput(dy, w, convAttrs(conv), conv.shape, base, scale);
  });
}
