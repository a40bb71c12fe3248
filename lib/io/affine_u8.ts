/**
 * Parameters stored as affine-quantised integers in safetensors: a U8 (or
 * U16) tensor `name` with an F64 companion `name.affine` = `[min, scale]`,
 * dequantised as `q · scale + min` (in double precision, then rounded to
 * f32, exactly as TF.js dequantises); F32 tensors are stored as they are.
 * @module
 */
import type { KerasParam } from "./keras_params.ts";
import { type SafetensorsTensor, toFloat32Array } from "./safetensors.ts";
import { SafetensorsError } from "./safetensors_header.ts";

/** The suffix of a quantised tensor's `[min, scale]` companion. */
export const AFFINE_SUFFIX = ".affine";

/** Safetensors tensors for parameters: quantised ones as U8/U16 + `.affine`, the rest as F32. */
export function affineTensors(
  params: ReadonlyMap<string, KerasParam>,
): Map<string, SafetensorsTensor> {
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, p] of params) {
    const q = p.quantized;
    if (!q) {
      out.set(name, { dtype: "F32", shape: p.shape, data: p.values });
      continue;
    }
    out.set(name, { dtype: q.q instanceof Uint8Array ? "U8" : "U16", shape: p.shape, data: q.q });
    out.set(name + AFFINE_SUFFIX, {
      dtype: "F64",
      shape: [2],
      data: Float64Array.from([q.min, q.scale]),
    });
  }
  return out;
}

/** Float32 parameters from such tensors; throws a SafetensorsError naming a bad companion. */
export function dequantizeAffine(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.endsWith(AFFINE_SUFFIX)) {
      if (!tensors.has(name.slice(0, -AFFINE_SUFFIX.length))) {
        throw new SafetensorsError(`${name}: affine map of no tensor`);
      }
      continue;
    }
    if (t.dtype !== "U8" && t.dtype !== "U16") {
      out.set(name, toFloat32Array(t));
      continue;
    }
    const a = tensors.get(name + AFFINE_SUFFIX);
    if (!a || a.dtype !== "F64" || a.data.length !== 2) {
      throw new SafetensorsError(
        `${name}: ${t.dtype} tensor needs an F64 [2] ${name}${AFFINE_SUFFIX}`,
      );
    }
    const [min, scale] = a.data as Float64Array;
    if (!Number.isFinite(min) || !Number.isFinite(scale)) {
      throw new SafetensorsError(`${name}${AFFINE_SUFFIX}: min and scale must be finite`);
    }
    const q = t.data as Uint8Array | Uint16Array;
    const v = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) v[i] = q[i] * scale + min;
    out.set(name, v);
  }
  return out;
}
