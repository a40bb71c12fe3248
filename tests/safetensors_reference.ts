/**
 * An independent reference reading of the safetensors format for the
 * fuzzers: a strict JSON parser that refuses duplicate keys, and the
 * format's rules written out plainly (no code shared with lib/io).
 */
import {
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDType,
  type SafetensorsLimits,
} from "../lib/io/safetensors.ts";

/** JSON text parsed with objects as Maps of their keys in order; null on a syntax error or duplicate key. */
function strictJson(text: string): unknown {
  let i = 0;
  const fail = Symbol("fail");
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const token = (re: RegExp): string | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  // JSON strings exclude raw control characters.
  // deno-lint-ignore no-control-regex
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const m = new Map<string, unknown>();
      ws();
      if (text[i] === "}") {
        i++;
        return m;
      }
      for (;;) {
        ws();
        const k = token(STRING);
        if (k === null) throw fail;
        const key = JSON.parse(k) as string;
        if (m.has(key)) throw fail;
        ws();
        if (text[i++] !== ":") throw fail;
        m.set(key, value());
        ws();
        const sep = text[i++];
        if (sep === "}") return m;
        if (sep !== ",") throw fail;
      }
    }
    if (c === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        const sep = text[i++];
        if (sep === "]") return a;
        if (sep !== ",") throw fail;
      }
    }
    if (c === '"') {
      const s = token(STRING);
      if (s === null) throw fail;
      return JSON.parse(s);
    }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const num = token(NUMBER);
    if (num === null) throw fail;
    return Number(num);
  };
  try {
    const v = value();
    ws();
    return i === text.length ? v : null;
  } catch (e) {
    if (e === fail) return null;
    throw e;
  }
}

/** What the reference reads: names → dtype, shape and bytes; or null for a file the format forbids. */
export interface Reference {
  readonly tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;
  readonly metadata: Record<string, string>;
}

const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The reference reading of `file` under `limits`. */
export function reference(file: Uint8Array, limits: SafetensorsLimits): Reference | null {
  if (file.length < 8 || file.length > limits.maxFileBytes) return null;
  const n = new DataView(file.buffer, file.byteOffset).getBigUint64(0, true);
  if (n > BigInt(limits.maxHeaderBytes) || n > BigInt(file.length - 8)) return null;
  const data = file.subarray(8 + Number(n));
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      file.subarray(8, 8 + Number(n)),
    );
  } catch {
    return null;
  }
  if (!text.startsWith("{")) return null;
  const header = strictJson(text);
  if (!(header instanceof Map)) return null;
  const tensors: Reference["tensors"] = new Map();
  let metadata: Record<string, string> = {};
  const spans: [number, number][] = [];
  for (const [name, v] of header) {
    if (!(v instanceof Map)) return null;
    if (name === "__metadata__") {
      if (![...v.values()].every((s) => typeof s === "string")) return null;
      metadata = Object.fromEntries(v);
      continue;
    }
    const keys = [...v.keys()].sort().join();
    if (keys !== "data_offsets,dtype,shape") return null;
    const dtype = v.get("dtype"), shape = v.get("shape"), offsets = v.get("data_offsets");
    if (typeof dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype)) return null;
    if (!Array.isArray(shape) || !shape.every(isCount)) return null;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return null;
    const [b, e] = offsets as [number, number];
    const numel = shape.reduce((a: number, d: number) => a * d, 1);
    const size = numel * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDType];
    if (!Number.isSafeInteger(size) || b > e || e > data.length || e - b !== size) return null;
    const bytes = data.slice(b, e);
    if (dtype === "BOOL" && bytes.some((x) => x > 1)) return null;
    tensors.set(name, { dtype, shape, bytes });
    spans.push([b, e]);
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, e] of spans) {
    if (b !== at) return null;
    at = e;
  }
  return at === data.length ? { tensors, metadata } : null;
}
