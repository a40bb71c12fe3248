/**
 * `OPS`: the record of every op, gathered from the family files, and the
 * lookups that read them.
 * @module
 */
import { GraphError } from "../graph.ts";
import type { OpDef } from "../op.ts";
import type { OpName } from "../op_names.ts";
import type { Tensor } from "../tensor.ts";
import { BATCH_NORM_OPS } from "./batch_norm.ts";
import { BINARIZE_OPS } from "./binarize.ts";
import { BROADCAST_OPS } from "./broadcast.ts";
import { CONV2D_OPS } from "./conv2d.ts";
import { CONV2D_BN_OPS } from "./conv2d_bn.ts";
import { LOSS_OPS } from "./loss.ts";
import { MATMUL_OPS } from "./matmul.ts";
import { OPTIM_OPS } from "./optim.ts";
import { POOL_OPS } from "./pool.ts";
import { REDUCE_OPS } from "./reduce.ts";
import { PAD_OPS } from "./pad.ts";
import { RELU_OPS } from "./relu.ts";
import { RELU6_OPS } from "./relu6.ts";
import { RESHAPE_OPS } from "./reshape.ts";
import { SIGMOID_OPS } from "./sigmoid.ts";
import { SOURCE_OPS } from "./source.ts";
import { UPSAMPLE_OPS } from "./upsample.ts";

/** Every op's record, by name; complete by type (an op without a record does not compile). */
export const OPS: { readonly [K in OpName]: OpDef } = {
  ...SOURCE_OPS,
  ...BROADCAST_OPS,
  ...CONV2D_OPS,
  ...CONV2D_BN_OPS,
  ...BATCH_NORM_OPS,
  ...RELU_OPS,
  ...RELU6_OPS,
  ...PAD_OPS,
  ...SIGMOID_OPS,
  ...POOL_OPS,
  ...REDUCE_OPS,
  ...UPSAMPLE_OPS,
  ...RESHAPE_OPS,
  ...MATMUL_OPS,
  ...LOSS_OPS,
  ...BINARIZE_OPS,
  ...OPTIM_OPS,
};

/**
 * The record of a node's op; a GraphError naming the op for a node built
 * past the type system (e.g. from untyped data) with an unknown op.
 */
export function opDef(n: Tensor): OpDef {
  const def = Object.hasOwn(OPS, n.op) ? OPS[n.op] : undefined;
  if (!def) throw new GraphError(`unknown op "${n.op}"`);
  return def;
}

/** The argument positions of `n` whose bytes its output may take (its record's `inPlace`). */
export function inPlaceArgs(n: Tensor): readonly number[] {
  const f = opDef(n).inPlace;
  return typeof f === "function" ? f(n) : f;
}

/** Whether `n` can run in batch slices (its record's `perSample`). */
export function isPerSample(n: Tensor): boolean {
  const f = opDef(n).perSample;
  return typeof f === "function" ? f(n) : f;
}
