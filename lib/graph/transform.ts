/**
 * Graph-to-graph rewriting: rebuild the nodes reachable from some outputs,
 * bottom-up, letting a function replace any of them.
 * @module
 */
import { topoSort } from "./graph.ts";
import { node, type Tensor } from "./tensor.ts";

/**
 * Rebuilds `outputs`. For each node (inputs first) `f` gets the original
 * node and its rewritten inputs and returns its replacement, or `undefined`
 * to keep the node (re-created only when an input changed). Untouched
 * subgraphs stay the same objects.
 */
export function rewrite(
  outputs: readonly Tensor[],
  f: (n: Tensor, inputs: readonly Tensor[]) => Tensor | undefined,
): Tensor[] {
  const done = new Map<Tensor, Tensor>();
  for (const n of topoSort(outputs)) {
    const inputs = n.inputs.map((x) => done.get(x)!);
    const changed = inputs.some((x, i) => x !== n.inputs[i]);
    const same = changed ? node(n.op, inputs, n.shape, n.attrs, n.dtype) : n;
    done.set(n, f(n, inputs) ?? same);
  }
  return outputs.map((o) => done.get(o)!);
}

/** The same computation with every batch-statistics batch norm switched to eval mode. */
export function withEvalNorms(outputs: readonly Tensor[]): Tensor[] {
  return rewrite(
    outputs,
    (n, inputs) =>
      n.op === "batchNorm" && n.attrs.mode === "batch"
        ? node(n.op, inputs, n.shape, { ...n.attrs, mode: "eval" }, n.dtype)
        : undefined,
  );
}

/**
 * The same computation with every eval-mode batch norm switched to batch
 * statistics: what a forward pass in training mode computes (for
 * re-estimating frozen statistics on new data).
 */
export function withBatchNorms(outputs: readonly Tensor[]): Tensor[] {
  return rewrite(
    outputs,
    (n, inputs) =>
      n.op === "batchNorm" && n.attrs.mode === "eval"
        ? node(n.op, inputs, n.shape, { ...n.attrs, mode: "batch" }, n.dtype)
        : undefined,
  );
}
