/**
 * Reading safetensors files (the format of Hugging Face `safetensors`): the
 * header is validated in full before any tensor is allocated, and each tensor
 * is copied out into its own typed array.
 *
 * F16 and BF16 tensors are returned as their raw bits (`Uint16Array`);
 * {@link toFloat32Array} widens any numeric tensor to `Float32Array`.
 * Multi-byte values are little-endian, as the format prescribes.
 * @module
 */

import { bfloat16BitsToFloat32, float16BitsToFloat32 } from "./half.ts";
import {
  DEFAULT_SAFETENSORS_LIMITS,
  parseSafetensorsHeader,
  readHeaderLength,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsLimits,
} from "./safetensors_header.ts";
import type {
  SafetensorsContents,
  SafetensorsData,
  SafetensorsDType,
  SafetensorsTensor,
} from "./safetensors_types.ts";

export * from "./safetensors_types.ts";
export * from "./safetensors_header.ts";
export {
  encodeSafetensors,
  type SafetensorsInput,
  writeSafetensorsFileAtomic,
} from "./safetensors_write.ts";

/**
 * Decodes a whole safetensors file held in memory.
 * @example
 * ```ts
 * const { tensors } = decodeSafetensors(await Deno.readFile("model.safetensors"));
 * const w = toFloat32Array(tensors.get("fc.weight")!);
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  limits: SafetensorsLimits = DEFAULT_SAFETENSORS_LIMITS,
): SafetensorsContents {
  const n = readHeaderLength(bytes, bytes.length, limits);
  const data = bytes.subarray(8 + n);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), data.length);
  return decodeTensors(header, data);
}

/**
 * Reads a safetensors file. The file size is checked with `Deno.stat` and the
 * header is read and validated before the data section is read, so a corrupt
 * or oversized file is rejected without reading or allocating its data.
 */
export async function readSafetensorsFile(
  path: string | URL,
  limits: SafetensorsLimits = DEFAULT_SAFETENSORS_LIMITS,
): Promise<SafetensorsContents> {
  const file = path instanceof URL ? path.pathname : path;
  try {
    return await readFile(path, limits);
  } catch (e) {
    throw e instanceof SafetensorsError ? e.inFile(file) : e;
  }
}

async function readFile(
  path: string | URL,
  limits: SafetensorsLimits,
): Promise<SafetensorsContents> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new SafetensorsError("not a regular file");
  const size = info.size;
  if (size > limits.maxFileBytes) {
    throw new SafetensorsError(
      `file is ${size} bytes, more than the limit of ${limits.maxFileBytes}`,
    );
  }
  const file = await Deno.open(path, { read: true });
  try {
    const prefix = await readExactly(file, Math.min(8, size));
    const n = readHeaderLength(prefix, size, limits);
    const header = parseSafetensorsHeader(await readExactly(file, n), size - 8 - n);
    const data = await readExactly(file, size - 8 - n);
    return decodeTensors(header, data);
  } finally {
    file.close();
  }
}

/**
 * Widens any numeric tensor to `Float32Array` (F16/BF16 exactly, F64 and
 * large integers rounded to nearest). F32 data is returned as is.
 */
export function toFloat32Array(tensor: SafetensorsTensor): Float32Array {
  const { dtype, data } = tensor;
  switch (dtype) {
    case "F32":
      return data as Float32Array;
    case "F16":
      return float16BitsToFloat32(data as Uint16Array);
    case "BF16":
      return bfloat16BitsToFloat32(data as Uint16Array);
    case "I64":
    case "U64": {
      const big = data as BigInt64Array | BigUint64Array;
      const out = new Float32Array(big.length);
      for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
      return out;
    }
    default:
      return Float32Array.from(data as ArrayLike<number>);
  }
}

/** Copies each entry's bytes out of `data` (the data section) into its own array. */
function decodeTensors(header: SafetensorsHeader, data: Uint8Array): SafetensorsContents {
  checkLittleEndianHost();
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of header.entries) {
    const buffer = data.slice(e.begin, e.end).buffer;
    const array = viewAs(e.dtype, buffer);
    if (e.dtype === "BOOL" && (array as Uint8Array).some((b) => b > 1)) {
      throw new SafetensorsError("BOOL data holds a byte other than 0 or 1", e.name);
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: array });
  }
  return { tensors, metadata: header.metadata };
}

function viewAs(dtype: SafetensorsDType, buffer: ArrayBuffer): SafetensorsData {
  switch (dtype) {
    case "F64":
      return new Float64Array(buffer);
    case "F32":
      return new Float32Array(buffer);
    case "F16":
    case "BF16":
    case "U16":
      return new Uint16Array(buffer);
    case "I64":
      return new BigInt64Array(buffer);
    case "I32":
      return new Int32Array(buffer);
    case "I16":
      return new Int16Array(buffer);
    case "I8":
      return new Int8Array(buffer);
    case "U64":
      return new BigUint64Array(buffer);
    case "U32":
      return new Uint32Array(buffer);
    case "U8":
    case "BOOL":
      return new Uint8Array(buffer);
  }
}

async function readExactly(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(out.subarray(got));
    if (r === null) {
      throw new SafetensorsError(`ended after ${got} of ${n} expected bytes (truncated)`);
    }
    got += r;
  }
  return out;
}

function checkLittleEndianHost(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new SafetensorsError("big-endian hosts are not supported");
  }
}
