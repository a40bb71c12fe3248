/**
 * Writing safetensors files: encoding to bytes, and an atomic file write
 * (a temporary file in the target's directory, synced, then renamed).
 * @module
 */

import { writeFileAtomic } from "./atomic.ts";
import {
  checkShape,
  DEFAULT_SAFETENSORS_LIMITS,
  isSafetensorsDType,
  SafetensorsError,
  shapeNumel,
} from "./safetensors_header.ts";
import {
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsArrayOf,
  type SafetensorsDType,
  type SafetensorsTensor,
} from "./safetensors_types.ts";

/** Tensors to write: a map or a plain record from name to tensor. */
export type SafetensorsInput =
  | ReadonlyMap<string, SafetensorsTensor>
  | Readonly<Record<string, SafetensorsTensor>>;

const ARRAY_TYPE: { [D in SafetensorsDType]: new (n: number) => SafetensorsArrayOf[D] } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * Encodes tensors and string metadata as safetensors bytes. Tensors are laid
 * out by decreasing element size, then by name, so every tensor starts at a
 * multiple of its element size; the JSON header is padded with spaces to a
 * multiple of 8 bytes. F16/BF16 data is given as raw bits (`Uint16Array`).
 * @example
 * ```ts
 * const bytes = encodeSafetensors({
 *   "fc.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
 * }, { epoch: "3" });
 * ```
 */
export function encodeSafetensors(
  tensors: SafetensorsInput,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const items = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)) as [
    string,
    SafetensorsTensor,
  ][];
  for (const [name, t] of items) checkWritable(name, t);
  items.sort(([na, a], [nb, b]) =>
    SAFETENSORS_DTYPE_BYTES[b.dtype] - SAFETENSORS_DTYPE_BYTES[a.dtype] ||
    (na < nb ? -1 : na > nb ? 1 : 0)
  );
  const header: [string, unknown][] = [];
  const meta = Object.entries(metadata);
  for (const [k, v] of meta) {
    if (typeof v !== "string") {
      throw new SafetensorsError(`cannot write __metadata__.${k}: ${typeof v}, not a string`);
    }
  }
  if (meta.length > 0) header.push(["__metadata__", Object.fromEntries(meta)]);
  let offset = 0;
  for (const [name, t] of items) {
    const end = offset + t.data.byteLength;
    header.push([name, { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, end] }]);
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > DEFAULT_SAFETENSORS_LIMITS.maxHeaderBytes) {
    throw new SafetensorsError(
      `cannot write: header would be ${headerLength} bytes, more than the limit of ${DEFAULT_SAFETENSORS_LIMITS.maxHeaderBytes}`,
    );
  }
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of items) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Writes tensors to `path` atomically: the bytes go to a temporary file in
 * the same directory, which is synced to disk and then renamed over `path`.
 * On failure the temporary file is removed and `path` is left untouched.
 */
export async function writeSafetensorsFileAtomic(
  path: string,
  tensors: SafetensorsInput,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

function checkWritable(name: string, t: SafetensorsTensor): void {
  const fail = (msg: string) => new SafetensorsError(`cannot write: ${msg}`, name);
  if (name === "__metadata__") throw fail("the name __metadata__ is reserved");
  if (!isSafetensorsDType(t.dtype)) throw fail(`unknown dtype ${JSON.stringify(t.dtype)}`);
  checkShape(t.shape, name);
  const Expected = ARRAY_TYPE[t.dtype];
  if (!(t.data instanceof Expected)) {
    throw fail(`${t.dtype} data must be a ${Expected.name}, got ${t.data?.constructor?.name}`);
  }
  const numel = shapeNumel(t.shape);
  if (t.data.length !== numel) {
    throw fail(
      `shape ${JSON.stringify(t.shape)} has ${numel} elements but data has ${t.data.length}`,
    );
  }
}
