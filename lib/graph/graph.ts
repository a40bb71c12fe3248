/**
 * Graphs as values: the nodes reachable from some outputs, in a topological
 * order, with a readable listing.
 * @module
 */
import { showShape, type Tensor } from "./tensor.ts";

/** A graph: its nodes in topological order (inputs before users) and its outputs. */
export interface Graph {
  /** Every node reachable from `outputs`, each after all of its inputs. */
  readonly nodes: readonly Tensor[];
  /** The values the graph computes. */
  readonly outputs: readonly Tensor[];
}

/** Thrown when two different parameters or inputs share a name. */
export class GraphError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GraphError";
  }
}

/** Collects the nodes reachable from `outputs` in depth-first topological order. */
export function topoSort(outputs: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: { t: Tensor; i: number }[] = [];
  for (const out of outputs) {
    if (seen.has(out)) continue;
    seen.add(out);
    stack.push({ t: out, i: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.i < top.t.inputs.length) {
        const next = top.t.inputs[top.i++];
        if (!seen.has(next)) {
          seen.add(next);
          stack.push({ t: next, i: 0 });
        }
      } else {
        order.push(top.t);
        stack.pop();
      }
    }
  }
  return order;
}

/** Builds the graph of `outputs`, checking that source names are unique. */
export function graph(...outputs: Tensor[]): Graph {
  const nodes = topoSort(outputs);
  const byName = new Map<string, Tensor>();
  for (const n of nodes) {
    if (n.op !== "param" && n.op !== "input") continue;
    const name = `${n.op} ${n.attrs.name}`;
    const other = byName.get(name);
    if (other && other !== n) {
      throw new GraphError(`two different nodes are both ${name}`);
    }
    byName.set(name, n);
  }
  return { nodes, outputs };
}

/** The parameter nodes of a graph, in topological order. */
export function params(g: Graph): Tensor[] {
  return g.nodes.filter((n) => n.op === "param");
}

/** The input nodes of a graph, in topological order. */
export function inputs(g: Graph): Tensor[] {
  return g.nodes.filter((n) => n.op === "input");
}

/**
 * A listing with one line per node, e.g.
 * `%3 = conv2d(%0, %1) {stride: [1,1], ...} : f32[8,64,56,56]`.
 */
export function formatGraph(g: Graph): string {
  const ids = new Map<Tensor, number>();
  g.nodes.forEach((n, i) => ids.set(n, i));
  const lines = g.nodes.map((n, i) => {
    const args = n.inputs.map((t) => `%${ids.get(t)}`).join(", ");
    const attrs = Object.entries(n.attrs).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
    const a = attrs ? ` {${attrs}}` : "";
    return `%${i} = ${n.op}(${args})${a} : ${n.dtype}${showShape(n.shape)}`;
  });
  const outs = g.outputs.map((t) => `%${ids.get(t)}`).join(", ");
  return [...lines, `return ${outs}`].join("\n");
}
