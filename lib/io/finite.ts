/**
 * Finite checks for weights read from files (imported backbones,
 * checkpoints): the first NaN or ±Infinity, named by tensor and index.
 * @module
 */

/** Where a non-finite value lies: the tensor's name, the element's index and the value. */
export interface NonFiniteValue {
  /** The tensor (parameter or state) name. */
  readonly tensor: string;
  /** The flat index of the first non-finite element. */
  readonly index: number;
  /** The value: NaN, Infinity or -Infinity. */
  readonly value: number;
}

/** Thrown by {@linkcode checkFinite}: a non-finite value in a file's tensor. */
export class NonFiniteError extends Error {
  /** The file the values came from. */
  readonly file: string;
  /** The tensor at fault. */
  readonly tensor: string;
  /** The flat index of its first non-finite element. */
  readonly index: number;
  /** That element's value. */
  readonly value: number;
  /** Creates the error naming the file, the tensor, the index and the value. */
  constructor(file: string, at: NonFiniteValue) {
    super(
      `${file}: tensor ${JSON.stringify(at.tensor)} holds ${at.value} at index ${at.index}; ` +
        "da3 refuses non-finite weights (the file is corrupt or comes from a diverged run)",
    );
    this.name = "NonFiniteError";
    this.file = file;
    this.tensor = at.tensor;
    this.index = at.index;
    this.value = at.value;
  }
}

/** The index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** The first non-finite value among named tensors (in iteration order), or undefined. */
export function findNonFinite(
  tensors: Iterable<readonly [string, ArrayLike<number>]>,
): NonFiniteValue | undefined {
  for (const [tensor, values] of tensors) {
    const index = firstNonFinite(values);
    if (index >= 0) return { tensor, index, value: values[index] };
  }
  return undefined;
}

/**
 * Throws {@linkcode NonFiniteError} naming `file` and the tensor when any
 * value of `tensors` is NaN or ±Infinity.
 * @example
 * ```ts
 * checkFinite(new Map([["fc.weight", new Float32Array([1, NaN])]]), "ckpt.safetensors");
 * // NonFiniteError: ckpt.safetensors: tensor "fc.weight" holds NaN at index 1; …
 * ```
 */
export function checkFinite(
  tensors: Iterable<readonly [string, ArrayLike<number>]>,
  file: string,
): void {
  const at = findNonFinite(tensors);
  if (at) throw new NonFiniteError(file, at);
}
