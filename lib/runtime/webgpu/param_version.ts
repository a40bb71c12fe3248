/**
 * Change marks for parameter arrays updated in place. The WebGPU runtime
 * uploads a parameter when its array (by identity) or its version differs
 * from the one on the device.
 * @module
 */

const versions = new WeakMap<Float32Array, number>();

/** Marks a parameter array as changed in place, so runtimes upload it again. */
export function markParamChanged(a: Float32Array): void {
  versions.set(a, (versions.get(a) ?? 0) + 1);
}

/** The change count of a parameter array (0 until first marked). */
export function paramVersion(a: Float32Array): number {
  return versions.get(a) ?? 0;
}
