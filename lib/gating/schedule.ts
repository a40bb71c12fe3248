/**
 * Gating-aware scheduling: a topological order of an inference graph in
 * which every gate producer (a DA³ attention term) runs before the frozen
 * conv it gates, expressed as extra dependency edges `conv ← attention`.
 * @module
 */
import type { Graph, Tensor } from "../graph/mod.ts";
import { GatingError } from "./rule.ts";

/**
 * Depth-first post-order of `g`'s nodes in which each node's extra
 * dependencies (`after.get(n)`: nodes that must run before `n`) are visited
 * before its inputs. Throws GatingError if an extra edge closes a cycle.
 */
export function gatingAwareOrder(
  g: Graph,
  after: ReadonlyMap<Tensor, readonly Tensor[]>,
): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<Tensor, "open" | "done">();
  const stack: { t: Tensor; deps: readonly Tensor[]; i: number }[] = [];
  const push = (t: Tensor) => {
    state.set(t, "open");
    stack.push({ t, deps: [...(after.get(t) ?? []), ...t.inputs], i: 0 });
  };
  for (const out of g.outputs) {
    if (state.has(out)) continue;
    push(out);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.i < top.deps.length) {
        const next = top.deps[top.i++];
        const s = state.get(next);
        if (s === "open") throw new GatingError(`gating dependency closes a cycle at ${next.op}`);
        if (s === undefined) push(next);
      } else {
        state.set(top.t, "done");
        order.push(top.t);
        stack.pop();
      }
    }
  }
  return order;
}

/** Throws GatingError unless every `before` node precedes its `after` node in `order`. */
export function checkPrecedence(
  order: readonly Tensor[],
  edges: readonly (readonly [before: Tensor, after: Tensor])[],
): void {
  const at = new Map<Tensor, number>();
  order.forEach((n, i) => at.set(n, i));
  for (const [b, a] of edges) {
    if (!(at.get(b)! < at.get(a)!)) {
      throw new GatingError(`${b.op} must run before the ${a.op} it gates`);
    }
  }
}
