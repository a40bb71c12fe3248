/**
 * Per-op GPU time of executed graphs, from timestamp queries written at the
 * start and end of each op's compute pass.
 * @module
 */
import type { Tensor } from "../../graph/mod.ts";

/** Accumulated GPU time of one op at one set of shapes. */
export interface OpProfile {
  /** The op (e.g. `conv2dGradInput`). */
  readonly op: string;
  /** Its output shape. */
  readonly shape: readonly number[];
  /** Its input shapes. */
  readonly inputs: readonly (readonly number[])[];
  /** Total GPU milliseconds over all executions. */
  readonly ms: number;
  /** How many times it ran. */
  readonly calls: number;
}

/** The key profiles are accumulated under: op and shapes. */
function keyOf(n: Tensor): string {
  return `${n.op} ${JSON.stringify(n.shape)} ${JSON.stringify(n.inputs.map((t) => t.shape))}`;
}

/**
 * Adds one execution to `into`: `timestamps` holds a begin and an end tick
 * (nanoseconds) per node, in the order of `nodes`.
 */
export function addExecution(
  into: Map<string, OpProfile>,
  nodes: readonly Tensor[],
  timestamps: BigUint64Array,
): void {
  nodes.forEach((n, i) => {
    const ns = timestamps[2 * i + 1] - timestamps[2 * i];
    const ms = Number(ns > 0n ? ns : 0n) / 1e6;
    const key = keyOf(n);
    const prev = into.get(key);
    into.set(key, {
      op: n.op,
      shape: n.shape,
      inputs: n.inputs.map((t) => t.shape),
      ms: (prev?.ms ?? 0) + ms,
      calls: (prev?.calls ?? 0) + 1,
    });
  });
}

/** Profiles summed per op, largest first. */
export function totalsByOp(profiles: Iterable<OpProfile>): { op: string; ms: number }[] {
  const byOp = new Map<string, number>();
  for (const p of profiles) byOp.set(p.op, (byOp.get(p.op) ?? 0) + p.ms);
  return [...byOp].map(([op, ms]) => ({ op, ms })).sort((a, b) => b.ms - a.ms);
}
