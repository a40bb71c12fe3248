/**
 * Finiteness checks for values about to be used or stored: a NaN or an
 * infinity in a weight, a gradient or a figure is found before it is written.
 * @module
 */

/** The index of the first NaN or ±Infinity in `values`, or -1 when every value is finite. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Thrown instead of writing or using a non-finite value; names what held it. */
export class NonFiniteError extends Error {
  /** What held the value, e.g. `runs/x/da3-fashion.safetensors: fc.weight`. */
  readonly what: string;
  /** The value's index within `what`. */
  readonly index: number;
  /** The value (NaN or ±Infinity). */
  readonly value: number;
  /** Creates the error. */
  constructor(what: string, index: number, value: number, consequence: string) {
    super(`${what}[${index}] is ${value}; ${consequence}`);
    this.name = "NonFiniteError";
    this.what = what;
    this.index = index;
    this.value = value;
  }
}

/** Throws {@linkcode NonFiniteError} for the first non-finite value of any named array. */
export function assertFinite(
  arrays: Iterable<readonly [string, ArrayLike<number>]>,
  consequence: string,
): void {
  for (const [name, values] of arrays) {
    const at = firstNonFinite(values);
    if (at >= 0) throw new NonFiniteError(name, at, values[at], consequence);
  }
}
