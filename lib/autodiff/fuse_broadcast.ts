/**
 * A graph-to-graph rewrite that keeps broadcast gradients small: the
 * backward of a mean over axes (global average pooling, the channel mean)
 * is `broadcastTo(dy, shape, scale)`, a full-size copy of a small gradient.
 * When that copy only feeds an `add` with a full-size operand (the
 * gradients of a fork summed), `add` broadcasts the small operand itself,
 * so the copy is never materialised: `add(a, broadcastTo(x, s))` becomes
 * `add(a, scale(x, s))` (or `add(a, x)` when `s` is 1). Element for element
 * the same float operations: `a + x·s`.
 * @module
 */
import { add, rewrite, scale, type Tensor } from "../graph/mod.ts";

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The small form of a broadcast: its source scaled, which `add` broadcasts itself. */
function smallForm(b: Tensor, source: Tensor): Tensor {
  const s = b.attrs.scale as number;
  return s === 1 ? source : scale(source, s);
}

/**
 * Rewrites `outputs` so that no `add` reads a `broadcastTo` while its other
 * operand already has the output's shape: the add reads the broadcast's
 * scaled source instead. A broadcast that other ops still read stays for
 * them; one nobody reads any more drops out of the graph. Nodes in `keep`
 * (e.g. the forward pass, which callers hold by identity) stay as they are.
 */
export function fuseBroadcastAdds(
  outputs: readonly Tensor[],
  keep: ReadonlySet<Tensor> = new Set(),
): Tensor[] {
  return rewrite(outputs, (n, inputs) => {
    if (n.op !== "add" || keep.has(n)) return undefined;
    const [a, b] = inputs;
    const full = (x: Tensor) => sameShape(x.shape, n.shape);
    if (b.op === "broadcastTo" && full(a) && !full(b.inputs[0])) {
      return add(a, smallForm(b, b.inputs[0]));
    }
    if (a.op === "broadcastTo" && full(b) && !full(a.inputs[0])) {
      return add(smallForm(a, a.inputs[0]), b);
    }
    return undefined;
  });
}
