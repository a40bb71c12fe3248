/**
 * Matrix product of 2-D values with optional transposes, and `linear`
 * (`x Wᵀ + b`, PyTorch's layout) built from it.
 * @module
 */
import { NOT_IN_PLACE, type OpTable } from "../op.ts";
import type { BackwardRule } from "../rule.ts";
import { checkRank, node, ShapeError, showShape, type Tensor } from "../tensor.ts";
import { add } from "./broadcast.ts";

/** Options of {@linkcode matmul}. */
export interface MatmulOptions {
  /** Use `aᵀ` (default false). */
  readonly transA?: boolean;
  /** Use `bᵀ` (default false). */
  readonly transB?: boolean;
}

/** `op(a) · op(b)` where `op` transposes when asked. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  checkRank("matmul", "a", a, 2);
  checkRank("matmul", "b", b, 2);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const [m, ka] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (ka !== kb) {
    throw new ShapeError(
      "matmul",
      `inner dimensions differ: a ${showShape(a.shape)}${transA ? "ᵀ" : ""} vs b ${
        showShape(b.shape)
      }${transB ? "ᵀ" : ""}`,
    );
  }
  return node("matmul", [a, b], [m, n], { transA, transB });
}

/** `x Wᵀ (+ b)` for `x` `[N,in]`, `w` `[out,in]`, `b` `[out]`. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  checkRank("linear", "x", x, 2);
  checkRank("linear", "w", w, 2);
  if (x.shape[1] !== w.shape[1]) {
    throw new ShapeError(
      "linear",
      `x ${showShape(x.shape)} has ${x.shape[1]} features but w ${showShape(w.shape)} expects ${
        w.shape[1]
      }`,
    );
  }
  if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) {
    throw new ShapeError("linear", `b must be [${w.shape[0]}], got ${showShape(b.shape)}`);
  }
  const y = matmul(x, w, { transB: true });
  return b ? add(y, b) : y;
}

/** matmul: the gradient of each operand reads the other one. */
export const matmulBackward: BackwardRule = (n, dy, needs) => {
  const [a, b] = n.inputs;
  const { transA, transB } = n.attrs as { transA: boolean; transB: boolean };
  const da = !needs[0]
    ? undefined
    : transA
    ? matmul(b, dy, { transA: transB, transB: true })
    : matmul(dy, b, { transB: !transB });
  const db = !needs[1]
    ? undefined
    : transB
    ? matmul(dy, a, { transA: true, transB: transA })
    : matmul(a, dy, { transA: !transA });
  return [da, db];
};

/** FLOPs of a matmul node: `2·m·k·n`. */
function matmulFlops(n: Tensor): number {
  const [a] = n.inputs;
  const k = n.attrs.transA ? a.shape[0] : a.shape[1];
  return 2 * n.shape[0] * k * n.shape[1];
}

/** The record of matmul. */
export const MATMUL_OPS = {
  matmul: {
    build: matmul,
    backward: matmulBackward,
    flops: matmulFlops,
    inPlace: NOT_IN_PLACE,
    perSample: false,
  },
} satisfies OpTable;
