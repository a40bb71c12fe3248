/**
 * Mutations of valid files for the reader fuzzers: bit flips, truncations,
 * overwritten length fields, duplicated, deleted and inserted byte ranges.
 * `DA3_FUZZ_RUNS` sets the cases per property (default 300).
 */
import fc from "fast-check";

/** Cases per fuzz property: `DA3_FUZZ_RUNS`, default 300. */
export const FUZZ_RUNS: number = (() => {
  const raw = Deno.env.get("DA3_FUZZ_RUNS");
  const n = raw === undefined ? 300 : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`DA3_FUZZ_RUNS is ${JSON.stringify(raw)}, not a positive integer`);
  }
  return n;
})();

/** One byte-level mutation; positions are taken modulo the file's current length. */
export type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly keep: number }
  | { readonly kind: "overwrite"; readonly at: number; readonly bytes: Uint8Array }
  | {
    readonly kind: "duplicate";
    readonly from: number;
    readonly length: number;
    readonly to: number;
  }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array };

/** A length field: `width` bytes at `at`, little- or big-endian. */
export interface LengthField {
  /** Byte offset of the field. */
  readonly at: number;
  /** 4 or 8 bytes. */
  readonly width: 4 | 8;
  /** Byte order. */
  readonly littleEndian: boolean;
}

/** Values that break length arithmetic: 0, ±1 around the original, powers of two, all ones. */
function interestingLengths(original: bigint, width: 4 | 8): fc.Arbitrary<bigint> {
  const max = (1n << BigInt(8 * width)) - 1n;
  const pick = [0n, 1n, original - 1n, original + 1n, original * 2n, 1n << 31n, 1n << 32n, max]
    .filter((v) => v >= 0n && v <= max);
  return fc.oneof(
    fc.constantFrom(...pick),
    fc.bigInt({ min: 0n, max }),
    fc.bigInt({ min: 0n, max: original * 4n + 16n > max ? max : original * 4n + 16n }),
  );
}

/** The bytes of `value` as a `width`-byte integer. */
function intBytes(value: bigint, width: 4 | 8, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(width);
  const view = new DataView(out.buffer);
  if (width === 8) view.setBigUint64(0, value, littleEndian);
  else view.setUint32(0, Number(value), littleEndian);
  return out;
}

/** Mutations that overwrite one of `fields` of `file` with a value that breaks length arithmetic. */
function lengthFieldMutation(
  file: Uint8Array,
  fields: readonly LengthField[],
): fc.Arbitrary<Mutation> {
  return fc.constantFrom(...fields).chain((f) => {
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const original = f.width === 8
      ? view.getBigUint64(f.at, f.littleEndian)
      : BigInt(view.getUint32(f.at, f.littleEndian));
    return interestingLengths(original, f.width).map((v): Mutation => ({
      kind: "overwrite",
      at: f.at,
      bytes: intBytes(v, f.width, f.littleEndian),
    }));
  });
}

/** One to three mutations of `file`; `fields` are its length fields (targeted more often). */
export function mutationsOf(
  file: Uint8Array,
  fields: readonly LengthField[] = [],
): fc.Arbitrary<Mutation[]> {
  const pos = fc.nat();
  const small = fc.integer({ min: 1, max: 64 });
  const any: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant("flip" as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("truncate" as const), keep: pos }),
    fc.record({
      kind: fc.constant("overwrite" as const),
      at: pos,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({ kind: fc.constant("duplicate" as const), from: pos, length: small, to: pos }),
    fc.record({ kind: fc.constant("delete" as const), at: pos, length: small }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: pos,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  ];
  const one = fields.length > 0
    ? fc.oneof(
      { arbitrary: fc.oneof(...any), weight: 3 },
      { arbitrary: lengthFieldMutation(file, fields), weight: 1 },
    )
    : fc.oneof(...any);
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

/** `file` with `mutations` applied in order (a new array; `file` is not changed). */
export function mutate(file: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = file.slice();
  for (const m of mutations) {
    const n = b.length;
    switch (m.kind) {
      case "flip":
        if (n > 0) b[m.at % n] ^= 1 << m.bit;
        break;
      case "truncate":
        b = b.slice(0, m.keep % (n + 1));
        break;
      case "overwrite": {
        if (n === 0) break;
        const at = m.at % n;
        b.set(m.bytes.subarray(0, n - at), at);
        break;
      }
      case "duplicate": {
        if (n === 0) break;
        const from = m.from % n;
        const part = b.slice(from, from + m.length);
        const to = m.to % (n + 1);
        b = concat(b.subarray(0, to), part, b.subarray(to));
        break;
      }
      case "delete": {
        if (n === 0) break;
        const at = m.at % n;
        b = concat(b.subarray(0, at), b.subarray(at + m.length));
        break;
      }
      case "insert": {
        const at = m.at % (n + 1);
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      }
    }
  }
  return b;
}

/** The concatenation of byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
