/**
 * Reverse-mode autodiff as a graph-to-graph transform, and the saved set it
 * implies.
 * @module
 */
import {
  add,
  byteSize,
  fill,
  fuseConvBn,
  type Graph,
  graph,
  GraphError,
  isTrainable,
  numel,
  opDef,
  showShape,
  type Tensor,
  topoSort,
} from "../graph/mod.ts";
import { accumulateConvGrads } from "./accumulate_grads.ts";
import { fuseBroadcastAdds } from "./fuse_broadcast.ts";

/** A forward value that backward reads, with the bytes it keeps alive. */
export interface SavedValue {
  /** The forward node. */
  readonly tensor: Tensor;
  /** Its size in bytes (1 bit per element for masks). */
  readonly bytes: number;
  /** The backward ops that read it. */
  readonly readBy: readonly string[];
}

/** The result of {@linkcode grad}. */
export interface GradResult {
  /** The scalar loss. */
  readonly loss: Tensor;
  /** The gradient node of each differentiated parameter. */
  readonly grads: ReadonlyMap<Tensor, Tensor>;
  /** Forward and backward together; outputs are `[loss, ...keep, ...grads]`. */
  readonly graph: Graph;
  /** Nodes that belong to the backward pass (depend on the loss gradient). */
  readonly backward: ReadonlySet<Tensor>;
  /** Exactly the non-parameter forward values the backward pass reads. */
  readonly saved: readonly SavedValue[];
  /** The sum of the saved values' bytes. */
  readonly savedBytes: number;
}

/** Options of {@linkcode grad}. */
export interface GradOptions {
  /** Parameters to differentiate (default: every trainable parameter reachable). */
  readonly wrt?: readonly Tensor[];
  /** Extra forward values to keep as outputs (e.g. logits for accuracy). */
  readonly keep?: readonly Tensor[];
  /**
   * Sum broadcast gradients into their consumers instead of materialising
   * them at full size ({@linkcode fuseBroadcastAdds}; default true).
   */
  readonly fuseBroadcasts?: boolean;
  /**
   * Sum a conv's input gradient into the other gradients of a fork, in one
   * buffer ({@linkcode accumulateConvGrads}; default true).
   */
  readonly accumulateConvGrads?: boolean;
  /**
   * Fold frozen eval-mode batch norms and the adds after them into the
   * convolutions, forward and backward ({@linkcode fuseConvBn}; default
   * false). The result's `loss` and kept values are then the rewritten
   * nodes (`graph.outputs` keeps its order: loss, kept values, gradients).
   */
  readonly fuseConvBn?: boolean;
}

/**
 * Differentiates a scalar `loss` with respect to trainable parameters. Only
 * nodes on a path from a differentiated parameter to the loss get backward
 * work; frozen parameters get none, and a frozen op's backward computes only
 * its input gradient.
 *
 * @example
 * ```ts
 * import { conv2d, grad, input, mean, param, relu } from "../../mod.ts";
 *
 * const x = input("x", [8, 16, 32, 32]);
 * const frozen = param("w", [16, 16, 3, 3], { trainable: false });
 * const loss = mean(relu(conv2d(x, frozen, { padding: 1 })));
 * const { saved, savedBytes } = grad(loss, { wrt: [] });
 * console.log(saved.map((s) => s.tensor.op), savedBytes); // nothing to keep: no trainable parameter
 * ```
 */
export function grad(loss: Tensor, options: GradOptions = {}): GradResult {
  if (numel(loss.shape) !== 1 || loss.dtype !== "f32") {
    throw new GraphError(`grad: loss must be an f32 scalar, got ${showShape(loss.shape)}`);
  }
  const forward = topoSort([loss]);
  const wrt = options.wrt ?? forward.filter(isTrainable);
  for (const p of wrt) {
    if (!isTrainable(p)) throw new GraphError(`grad: ${p.op} ${p.attrs.name} is not trainable`);
  }
  const needs = needsGradient(forward, new Set(wrt));
  const seed = fill(loss.shape, 1);
  const cotangent = new Map<Tensor, Tensor>([[loss, seed]]);
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    const dy = cotangent.get(n);
    if (!dy || n.inputs.length === 0) continue;
    const rule = opDef(n).backward;
    if (!rule) throw new GraphError(`grad: op ${n.op} has no backward rule`);
    const dxs = rule(n, dy, n.inputs.map((x) => needs.has(x)));
    n.inputs.forEach((x, j) => {
      const dx = dxs[j];
      if (!dx) return;
      const prev = cotangent.get(x);
      cotangent.set(x, prev ? add(prev, dx) : dx);
    });
  }
  const raw = wrt.map((p) => cotangent.get(p) ?? fill(p.shape, 0));
  const fwd = new Set(forward);
  const fused = options.fuseBroadcasts ?? true ? fuseBroadcastAdds(raw, fwd) : raw;
  const summed = options.accumulateConvGrads ?? true ? accumulateConvGrads(fused, fwd) : fused;
  const kept = options.keep ?? [];
  const all = [loss, ...kept, ...summed];
  const outs = options.fuseConvBn ? fuseConvBn(all) : all;
  const grads = new Map<Tensor, Tensor>();
  wrt.forEach((p, i) => grads.set(p, outs[1 + kept.length + i]));
  const g = graph(...outs);
  const backward = dependents(g.nodes, seed);
  const saved = savedSet(g.nodes, backward);
  return {
    loss: outs[0],
    grads,
    graph: g,
    backward,
    saved,
    savedBytes: saved.reduce((s, v) => s + v.bytes, 0),
  };
}

/** Nodes through which a gradient reaches some parameter in `wrt`. */
function needsGradient(order: readonly Tensor[], wrt: ReadonlySet<Tensor>): Set<Tensor> {
  const needs = new Set<Tensor>();
  for (const n of order) {
    if (wrt.has(n) || n.inputs.some((x) => needs.has(x))) needs.add(n);
  }
  return needs;
}

/** Nodes that depend on `root`, given a topological order. */
function dependents(order: readonly Tensor[], root: Tensor): Set<Tensor> {
  const out = new Set<Tensor>([root]);
  for (const n of order) {
    if (n.inputs.some((x) => out.has(x))) out.add(n);
  }
  return out;
}

/** Forward values read by backward nodes, except those their op record marks not `saved` (parameters, constants). */
function savedSet(order: readonly Tensor[], backward: ReadonlySet<Tensor>): SavedValue[] {
  const readers = new Map<Tensor, Set<string>>();
  for (const n of order) {
    if (!backward.has(n)) continue;
    for (const x of n.inputs) {
      if (backward.has(x) || opDef(x).saved === false) continue;
      if (!readers.has(x)) readers.set(x, new Set());
      readers.get(x)!.add(n.op);
    }
  }
  return order.filter((n) => readers.has(n)).map((tensor) => ({
    tensor,
    bytes: byteSize(tensor.shape, tensor.dtype),
    readBy: [...readers.get(tensor)!],
  }));
}
