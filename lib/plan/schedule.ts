/**
 * Scheduling: a deterministic topological order of a graph's computed nodes
 * chosen to lower the peak of live bytes.
 * @module
 */
import { byteSize, type Graph, isUpdate, type Tensor } from "../graph/mod.ts";
import { lowerBound } from "./lower_bound.ts";

/** What the scheduler needs to know besides the graph. */
export interface ScheduleOptions {
  /** Computed values kept outside the arena (trainable gradients): they cost no arena bytes. */
  readonly persistent?: ReadonlySet<Tensor>;
  /** Which strategies to try (default all of {@linkcode SCHEDULE_STRATEGIES}); the lowest peak wins. */
  readonly strategies?: readonly string[];
}

/** A schedule with the strategy that produced it and its peak of live arena bytes. */
export interface Schedule {
  /** Every non-parameter node of the graph, each after its inputs. */
  readonly order: readonly Tensor[];
  /** The strategy's name. */
  readonly strategy: string;
  /** Peak live arena bytes of this order (no in-place reuse counted). */
  readonly peakBytes: number;
}

interface Dag {
  readonly nodes: readonly Tensor[];
  readonly index: ReadonlyMap<Tensor, number>;
  /** Distinct non-parameter inputs of each node. */
  readonly args: readonly number[][];
  /** Distinct consumers of each node. */
  readonly users: readonly number[][];
  /** Arena bytes of each node (0 for parameters and persistent values). */
  readonly bytes: readonly number[];
  readonly isOutput: readonly boolean[];
  /** Input and fill nodes: scheduled lazily, right before their first reader. */
  readonly isLazy: readonly boolean[];
  readonly isParam: readonly boolean[];
}

function buildDag(g: Graph, persistent: ReadonlySet<Tensor>): Dag {
  const index = new Map<Tensor, number>();
  g.nodes.forEach((n, i) => index.set(n, i));
  const isParam = g.nodes.map((n) => n.op === "param");
  const args = g.nodes.map((n) => [
    ...new Set(n.inputs.map((x) => index.get(x)!).filter((j) => !isParam[j])),
  ]);
  const users: number[][] = g.nodes.map(() => []);
  args.forEach((a, i) => a.forEach((j) => users[j].push(i)));
  const outputs = new Set(g.outputs);
  return {
    nodes: g.nodes,
    index,
    args,
    users,
    bytes: g.nodes.map((n, i) => isParam[i] || persistent.has(n) ? 0 : byteSize(n.shape, n.dtype)),
    isOutput: g.nodes.map((n) => outputs.has(n)),
    isLazy: g.nodes.map((n) => n.inputs.length === 0 && n.op !== "param"),
    isParam,
  };
}

/** A tie-break among ready nodes with equal score: lower wins. */
type TieBreak = (dag: Dag, node: number, readiedAt: number) => number;

/**
 * Greedy list scheduling: among ready nodes, run the one whose step adds the
 * fewest net arena bytes (its output and lazily pulled sources, minus the
 * inputs it reads for the last time); ties go to `tieBreak`.
 */
function greedy(dag: Dag, tieBreak: TieBreak): number[] {
  const n = dag.nodes.length;
  const remaining = dag.users.map((u) => u.length);
  const pending = dag.args.map((a) => a.filter((j) => !dag.isLazy[j]).length);
  const done = new Array<boolean>(n).fill(false);
  const readiedAt = new Array<number>(n).fill(0);
  const order: number[] = [];
  let ready: number[] = [];
  let tick = 0;
  for (let i = 0; i < n; i++) {
    if (!dag.isParam[i] && !dag.isLazy[i] && pending[i] === 0) ready.push(i);
  }
  const score = (u: number) => {
    let net = dag.bytes[u];
    for (const j of dag.args[u]) {
      if (!done[j]) net += dag.bytes[j];
      if (remaining[j] === 1 && !dag.isOutput[j]) net -= dag.bytes[j];
    }
    return net;
  };
  const emit = (u: number) => {
    done[u] = true;
    order.push(u);
    for (const j of dag.args[u]) remaining[j]--;
  };
  while (ready.length > 0) {
    let best = -1, bestScore = Infinity, bestTie = Infinity;
    for (const u of ready) {
      const s = score(u);
      if (s > bestScore) continue;
      const t = tieBreak(dag, u, readiedAt[u]);
      if (s < bestScore || t < bestTie) [best, bestScore, bestTie] = [u, s, t];
    }
    ready = ready.filter((u) => u !== best);
    for (const j of dag.args[best]) if (!done[j]) emit(j);
    emit(best);
    tick++;
    for (const c of dag.users[best]) {
      if (--pending[c] === 0) {
        readiedAt[c] = tick;
        ready.push(c);
      }
    }
  }
  for (let i = 0; i < n; i++) if (!done[i] && !dag.isParam[i]) emit(i);
  return order;
}

/** The graph's own topological order, with sources pulled in right before their first reader. */
function graphOrder(dag: Dag): number[] {
  const done = new Array<boolean>(dag.nodes.length).fill(false);
  const order: number[] = [];
  const emit = (u: number) => {
    done[u] = true;
    order.push(u);
  };
  dag.nodes.forEach((_, i) => {
    if (dag.isParam[i] || dag.isLazy[i]) return;
    for (const j of dag.args[i]) if (!done[j]) emit(j);
    emit(i);
  });
  dag.nodes.forEach((_, i) => {
    if (!done[i] && !dag.isParam[i]) emit(i);
  });
  return order;
}

const SCHEDULERS: Readonly<Record<string, (dag: Dag) => number[]>> = {
  /** Greedy; ties go to the node first in the graph's order. */
  "greedy-graph-order": (dag) => greedy(dag, (_, u) => u),
  /** Greedy; ties go to the node made ready most recently (depth first). */
  "greedy-depth-first": (dag) => greedy(dag, (_, u, at) => -at * dag.nodes.length + u),
  /** The graph's depth-first topological order. */
  "graph-order": graphOrder,
};

/** The names of the scheduling strategies {@linkcode scheduleGraph} tries. */
export const SCHEDULE_STRATEGIES: readonly string[] = Object.keys(SCHEDULERS);

/** Peak live arena bytes of an order of node indices. */
function peakOf(dag: Dag, order: readonly number[]): number {
  const step = new Map<number, number>();
  order.forEach((u, s) => step.set(u, s));
  const end = order.length - 1;
  return lowerBound(order.map((u, s) => {
    let last = dag.isOutput[u] ? end : s;
    for (const c of dag.users[u]) last = Math.max(last, step.get(c)!);
    return { size: dag.bytes[u], first: s, last };
  })).bytes;
}

/**
 * Orders the computed nodes of `g` (every node but parameters) to lower the
 * peak of live arena bytes: tries each strategy and keeps the lowest peak
 * (ties go to the earlier strategy). Deterministic for a given graph.
 */
export function scheduleGraph(g: Graph, options: ScheduleOptions = {}): Schedule {
  const dag = buildDag(g, options.persistent ?? new Set());
  let best: Schedule | undefined;
  for (const name of options.strategies ?? Object.keys(SCHEDULERS)) {
    const strategy = SCHEDULERS[name];
    if (!strategy) throw new RangeError(`scheduleGraph: unknown strategy "${name}"`);
    const order = strategy(dag);
    const peakBytes = peakOf(dag, order);
    if (!best || peakBytes < best.peakBytes) {
      best = { order: order.map((u) => dag.nodes[u]), strategy: name, peakBytes };
    }
  }
  return best ?? { order: [], strategy: "none", peakBytes: 0 };
}

/**
 * `order` with every optimizer update moved to the earliest step it may
 * run: after its gradient and its other operands are computed and after
 * every other reader of its parameter and state (the update overwrites
 * them). Sources read only by updates (the step input) move to right
 * before the first update. Other nodes keep their relative order; updates
 * keep theirs among those placed at the same step.
 */
export function hoistUpdates(order: readonly Tensor[]): Tensor[] {
  const updates = order.filter(isUpdate);
  if (updates.length === 0) return [...order];
  const readers = new Map<Tensor, Tensor[]>();
  for (const n of order) {
    for (const x of n.inputs) {
      if (!readers.has(x)) readers.set(x, []);
      readers.get(x)!.push(n);
    }
  }
  const onlyUpdates = (n: Tensor) =>
    n.inputs.length === 0 && (readers.get(n) ?? []).every(isUpdate);
  const rest = order.filter((n) => !isUpdate(n) && !onlyUpdates(n));
  const late = order.filter((n) => !isUpdate(n) && onlyUpdates(n));
  const pos = new Map<Tensor, number>();
  rest.forEach((n, i) => pos.set(n, i));
  const after = new Map<number, Tensor[]>();
  for (const u of updates) {
    let at = -1;
    for (const x of u.inputs) {
      at = Math.max(at, pos.get(x) ?? -1);
      if (x.op !== "param") continue;
      for (const r of readers.get(x) ?? []) if (r !== u) at = Math.max(at, pos.get(r) ?? -1);
    }
    if (!after.has(at)) after.set(at, []);
    after.get(at)!.push(u);
  }
  const out: Tensor[] = [];
  let pulled = false;
  const place = (at: number) => {
    const us = after.get(at);
    if (!us) return;
    if (!pulled) out.push(...late);
    pulled = true;
    out.push(...us);
  };
  place(-1);
  rest.forEach((n, i) => {
    out.push(n);
    place(i);
  });
  return out;
}
