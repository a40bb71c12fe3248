/**
 * In-place reuse: which ops may write their output over one of their inputs.
 * Only element-wise ops whose output element i reads input element i (and,
 * for broadcasting ops, only the operand of the output's own shape) qualify.
 * @module
 */
import { byteSize, type Tensor } from "../graph/mod.ts";

const FIRST_INPUT = [0];
const EITHER_INPUT = [0, 1];

/** Ops that may compute in place, with the argument positions whose bytes they may take. */
export const IN_PLACE_ARGS: Readonly<Record<string, readonly number[]>> = {
  relu: FIRST_INPUT,
  reluGrad: FIRST_INPUT,
  sigmoid: FIRST_INPUT,
  sigmoidGrad: FIRST_INPUT,
  scale: FIRST_INPUT,
  reshape: FIRST_INPUT,
  batchNormGradInput: FIRST_INPUT,
  add: EITHER_INPUT,
  mul: EITHER_INPUT,
};

/**
 * The argument positions of `n` whose bytes its output may take, given that
 * the argument is read for the last time by `n`: same byte size as the output
 * and (for batch norm) eval mode, where it is a per-channel affine map.
 */
export function inPlaceCandidates(n: Tensor): readonly number[] {
  const args = n.op === "batchNorm" && n.attrs.mode === "eval" ? FIRST_INPUT : IN_PLACE_ARGS[n.op];
  if (!args) return [];
  const bytes = byteSize(n.shape, n.dtype);
  return args.filter((k) => {
    const x = n.inputs[k];
    return x !== undefined && x.dtype === n.dtype && byteSize(x.shape, x.dtype) === bytes;
  });
}
