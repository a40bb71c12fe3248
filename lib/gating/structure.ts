/**
 * Where a DA³ model can be gated: for every main-path conv→BN pair of
 * `Model.blocks` whose pre-activation `bn(conv(x)) + a(x)` feeds a ReLU
 * directly (not the residual add), the graph nodes of the pair, its attention
 * and the convs that read its activation.
 * @module
 */
import { type Graph, sourceName, type Tensor } from "../graph/mod.ts";
import type { ConvBnSpec } from "../models/adaptor.ts";
import type { Model } from "../models/model.ts";

/** The nodes of one gateable DA³ pair. */
export interface GatedPairNodes {
  /** The pair's description (parameter names, geometry). */
  readonly pair: ConvBnSpec;
  /** The frozen conv (`${pair.conv}.weight`). */
  readonly conv: Tensor;
  /** Its batch norm (eval mode). */
  readonly bn: Tensor;
  /** The attention term `a(x)` (its parameters are `${pair.conv}.da3.*`). */
  readonly attention: Tensor;
  /** `bn(conv(x)) + a(x)`. */
  readonly preActivation: Tensor;
  /** `relu(bn(conv(x)) + a(x))`: the gated value. */
  readonly activation: Tensor;
  /** The convs that read the activation: they read only its open channels. */
  readonly readers: readonly Tensor[];
}

/** Consumers of each node of `g`. */
export function usersOf(g: Graph): Map<Tensor, Tensor[]> {
  const users = new Map<Tensor, Tensor[]>();
  for (const n of g.nodes) {
    for (const x of new Set(n.inputs)) {
      const u = users.get(x);
      if (u) u.push(n);
      else users.set(x, [n]);
    }
  }
  return users;
}

function onlyUser(users: Map<Tensor, Tensor[]>, t: Tensor, op: string): Tensor | null {
  const u = users.get(t) ?? [];
  return u.length === 1 && u[0].op === op && u[0].inputs[0] === t ? u[0] : null;
}

/** True when the subgraph of `t` reads a parameter whose name starts with `prefix`. */
function readsParam(t: Tensor, prefix: string): boolean {
  const stack = [t], seen = new Set<Tensor>();
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.op === "param" && sourceName(n).startsWith(prefix)) return true;
    stack.push(...n.inputs);
  }
  return false;
}

/**
 * The gateable pairs of a DA³ model, in network order: main-path pairs that
 * are not the last of their block (the last one's ReLU follows the residual
 * add, where the attention alone cannot close a channel), whose conv has one
 * group, whose BN is in eval mode and feeds only the attention add, and whose
 * add feeds only a ReLU.
 */
export function findGatedPairs(model: Model, g: Graph): GatedPairNodes[] {
  const users = usersOf(g);
  const convByWeight = new Map<string, Tensor>();
  for (const n of g.nodes) {
    if (n.op === "conv2d" && n.inputs[1].op === "param") {
      convByWeight.set(sourceName(n.inputs[1]), n);
    }
  }
  const out: GatedPairNodes[] = [];
  for (const block of model.blocks) {
    for (const pair of block.pairs) {
      if (pair.role !== "main" || pair.last) continue;
      const conv = convByWeight.get(`${pair.conv}.weight`);
      if (!conv || (conv.attrs.groups as number) !== 1) continue;
      const bn = onlyUser(users, conv, "batchNorm");
      if (!bn || bn.attrs.mode !== "eval") continue;
      const pre = onlyUser(users, bn, "add");
      if (!pre) continue;
      const attention = pre.inputs[1];
      if (!readsParam(attention, `${pair.conv}.da3.`)) continue;
      const [, c, h, w] = pre.shape;
      const [, ac, ah, aw] = attention.shape;
      if (ac !== c || (ah !== 1 && ah !== h) || (aw !== 1 && aw !== w)) continue;
      const activation = onlyUser(users, pre, "relu");
      if (!activation) continue;
      const readers = (users.get(activation) ?? []).filter((u) =>
        u.op === "conv2d" && u.inputs[0] === activation && (u.attrs.groups as number) === 1
      );
      out.push({ pair, conv, bn, attention, preActivation: pre, activation, readers });
    }
  }
  return out;
}
