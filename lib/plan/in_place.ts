/**
 * In-place reuse: which nodes may write their output over one of their
 * inputs. The op records (`inPlace`) name the argument positions; only
 * element-wise ops whose output element i reads input element i (and, for
 * broadcasting ops, only the operand of the output's own shape) qualify.
 * @module
 */
import { byteSize, inPlaceArgs, type Tensor } from "../graph/mod.ts";

/**
 * The argument positions of `n` whose bytes its output may take, given that
 * the argument is read for the last time by `n`: those its op record allows
 * (batch norm only in eval mode, where it is a per-channel affine map) whose
 * dtype and byte size equal the output's.
 */
export function inPlaceCandidates(n: Tensor): readonly number[] {
  const bytes = byteSize(n.shape, n.dtype);
  return inPlaceArgs(n).filter((k) => {
    const x = n.inputs[k];
    return x !== undefined && x.dtype === n.dtype && byteSize(x.shape, x.dtype) === bytes;
  });
}
