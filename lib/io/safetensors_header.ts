/**
 * The safetensors header: element types, limits, the typed error, and the
 * validation of a header before any tensor data is touched or allocated.
 *
 * A file is an 8-byte little-endian u64 `N`, then `N` bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`,
 * then the data section; offsets are relative to the data section's start.
 * As in the reference implementation, the tensors tile the data section:
 * in offset order each starts where the previous ended, and the last ends
 * at the end of the file. Duplicate JSON keys are refused.
 * @module
 */

import { SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from "./safetensors_types.ts";

/** Size limits checked before allocating; `MB` here is 10^6 bytes. */
export interface SafetensorsLimits {
  /** Largest accepted JSON header, in bytes (default 100 MB). */
  readonly maxHeaderBytes: number;
  /** Largest accepted file (header and data), in bytes (default 2000 MB). */
  readonly maxFileBytes: number;
}

/** The default limits: 100 MB of header, 2000 MB of file. */
export const DEFAULT_SAFETENSORS_LIMITS: SafetensorsLimits = {
  maxHeaderBytes: 100_000_000,
  maxFileBytes: 2_000_000_000,
};

/** Thrown for any malformed, unsupported or oversized safetensors content. */
export class SafetensorsError extends Error {
  /** The tensor the problem concerns, when there is one. */
  readonly tensor: string | undefined;
  /** The file read, when the error comes from reading one. */
  readonly file: string | undefined;
  /** Creates the error; the message names the file, the tensor or the field at fault. */
  constructor(message: string, tensor?: string, file?: string) {
    const where = tensor === undefined ? message : `tensor ${JSON.stringify(tensor)}: ${message}`;
    super(file === undefined ? where : `${file}: ${where}`);
    this.name = "SafetensorsError";
    this.tensor = tensor;
    this.file = file;
    this.#message = message;
  }
  readonly #message: string;
  /** The same error, its message naming `file`. */
  inFile(file: string): SafetensorsError {
    return this.file === undefined ? new SafetensorsError(this.#message, this.tensor, file) : this;
  }
}

/** One validated header entry: where a tensor's bytes lie in the data section. */
export interface SafetensorsEntry {
  /** The tensor's name. */
  readonly name: string;
  /** Its element type. */
  readonly dtype: SafetensorsDType;
  /** Its shape (non-negative integers; `[]` is a scalar). */
  readonly shape: readonly number[];
  /** First byte, relative to the data section. */
  readonly begin: number;
  /** One past the last byte, relative to the data section. */
  readonly end: number;
}

/** A validated header: entries sorted by `begin`, and the free-form metadata. */
export interface SafetensorsHeader {
  /** Tensor entries, sorted by data offset. */
  readonly entries: readonly SafetensorsEntry[];
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
}

const METADATA_KEY = "__metadata__";
const ENTRY_FIELDS = new Set(["dtype", "shape", "data_offsets"]);

/**
 * Reads and checks the header length `N` from the first 8 bytes of a file of
 * `fileSize` bytes: `N` must fit the limit and `N <= fileSize - 8`.
 */
export function readHeaderLength(
  prefix: Uint8Array,
  fileSize: number,
  limits: SafetensorsLimits = DEFAULT_SAFETENSORS_LIMITS,
): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      `file is ${
        Math.min(fileSize, prefix.length)
      } bytes; at least 8 are needed for the header length`,
    );
  }
  if (fileSize > limits.maxFileBytes) {
    throw new SafetensorsError(
      `file is ${fileSize} bytes, more than the limit of ${limits.maxFileBytes}`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(limits.maxHeaderBytes)) {
    throw new SafetensorsError(
      `header length ${n} exceeds the limit of ${limits.maxHeaderBytes} bytes`,
    );
  }
  if (n > BigInt(fileSize - 8)) {
    throw new SafetensorsError(
      `header length ${n} exceeds the ${fileSize - 8} bytes that follow the length field`,
    );
  }
  return Number(n);
}

/**
 * Parses and validates the JSON header bytes against a data section of
 * `dataBytes` bytes. Checks: UTF-8, a JSON object, string metadata, known
 * dtypes, integer shapes, `end - begin == numel * dtypeBytes`, offsets inside
 * the data section, no duplicate keys, and tensors that tile the data section
 * (no overlap, no hole, no trailing bytes). Allocates nothing in proportion
 * to the claimed tensor sizes.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  dataBytes: number,
): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) {
    throw new SafetensorsError("header does not start with '{'");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError("header JSON is not an object");
  }
  checkNoDuplicateKeys(text);
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value);
    else entries.push(parseEntry(name, value, dataBytes));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1));
  checkTiling(entries, dataBytes);
  return { entries, metadata };
}

/** The element count of a shape, or -1 when it is not a safe integer. */
export function shapeNumel(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/** Whether `s` names a dtype in {@link SAFETENSORS_DTYPE_BYTES}. */
export function isSafetensorsDType(s: unknown): s is SafetensorsDType {
  return typeof s === "string" && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, s);
}

/** Checks that `shape` is an array of non-negative safe integers. */
export function checkShape(shape: unknown, tensor: string): readonly number[] {
  if (!Array.isArray(shape)) {
    throw new SafetensorsError(`shape is ${JSON.stringify(shape)}, not an array`, tensor);
  }
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(
        `shape ${JSON.stringify(shape)} has ${JSON.stringify(d)}, not a non-negative integer`,
        tensor,
      );
    }
  }
  return shape as number[];
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(`${METADATA_KEY} is not an object of strings`);
  }
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(
        `${METADATA_KEY}.${k} is ${JSON.stringify(v)}, not a string`,
      );
    }
    pairs.push([k, v]);
  }
  return Object.fromEntries(pairs);
}

function parseEntry(name: string, value: unknown, dataBytes: number): SafetensorsEntry {
  if (!isPlainObject(value)) {
    throw new SafetensorsError("header entry is not an object", name);
  }
  for (const field of Object.keys(value)) {
    if (!ENTRY_FIELDS.has(field)) {
      throw new SafetensorsError(`unknown field ${JSON.stringify(field)}`, name);
    }
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDType(dtype)) {
    throw new SafetensorsError(
      `dtype ${JSON.stringify(dtype)} is not one of ${
        Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")
      }`,
      name,
    );
  }
  const dims = checkShape(shape, name);
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(
      `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`,
      name,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new SafetensorsError(`data_offsets [${begin}, ${end}] has begin > end`, name);
  }
  if (end > dataBytes) {
    throw new SafetensorsError(
      `data_offsets [${begin}, ${end}] out of range of the ${dataBytes}-byte data section`,
      name,
    );
  }
  const numel = shapeNumel(dims);
  const expected = numel * SAFETENSORS_DTYPE_BYTES[dtype];
  if (numel < 0 || !Number.isSafeInteger(expected)) {
    throw new SafetensorsError(`shape ${JSON.stringify(dims)} is too large`, name);
  }
  if (end - begin !== expected) {
    throw new SafetensorsError(
      `size mismatch: data_offsets [${begin}, ${end}] span ${end - begin} bytes, ` +
        `but ${dtype} shape ${JSON.stringify(dims)} needs ${expected}`,
      name,
    );
  }
  return { name, dtype, shape: dims, begin, end };
}

/** In offset order, each tensor starts where the previous ended and the last ends the data. */
function checkTiling(sorted: readonly SafetensorsEntry[], dataBytes: number): void {
  let at = 0;
  let last: SafetensorsEntry | undefined;
  for (const e of sorted) {
    if (e.begin < at) {
      throw new SafetensorsError(
        `data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(last!.name)} ` +
          `at [${last!.begin}, ${last!.end}]`,
        e.name,
      );
    }
    if (e.begin > at) {
      throw new SafetensorsError(
        `data_offsets [${e.begin}, ${e.end}] leave a hole of ${e.begin - at} bytes after ` +
          (last === undefined ? "the header" : `tensor ${JSON.stringify(last.name)}`) +
          ` (each tensor must start where the previous one ends)`,
        e.name,
      );
    }
    at = e.end;
    last = e;
  }
  if (at !== dataBytes) {
    throw new SafetensorsError(
      `${dataBytes - at} trailing bytes after the last tensor` +
        (last === undefined ? "" : ` ${JSON.stringify(last.name)}`) +
        ` (the data section is ${dataBytes} bytes; the tensors end at ${at})`,
    );
  }
}

/**
 * Refuses a key that occurs twice in one JSON object of `text` (already
 * parsed as valid JSON, which keeps only the last of duplicates).
 */
function checkNoDuplicateKeys(text: string): void {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  let tensor: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (expectKey) {
        const key: string = JSON.parse(text.slice(i, j + 1));
        const keys = objects[objects.length - 1]!;
        const top = objects.length === 1;
        if (keys.has(key)) {
          throw new SafetensorsError(
            `duplicate key ${JSON.stringify(key)} in the header` +
              (top ? "" : " (a JSON object may name each field once)"),
            top ? (key === METADATA_KEY ? undefined : key) : tensor,
          );
        }
        keys.add(key);
        if (top) tensor = key === METADATA_KEY ? undefined : key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      objects.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      objects.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      objects.pop();
    } else if (c === 0x2c) {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
