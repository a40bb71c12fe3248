/**
 * Fuzzing the safetensors reader: random mutations of valid files (bit
 * flips, truncations, corrupted header lengths, duplicated entries and byte
 * ranges) either decode to exactly what an independent reference decoder of
 * the format reads from the mutated bytes (the original values when the
 * mutation left them) or throw SafetensorsError; never another exception,
 * and never more tensor bytes than the file holds. `DA3_FUZZ_RUNS` sets the
 * case count.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsContents,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsLimits,
  type SafetensorsTensor,
} from "../lib/io/safetensors.ts";
import { concat, FUZZ_RUNS, mutate, mutationsOf } from "./fuzz_mutations.ts";
import { type Reference, reference } from "./safetensors_reference.ts";

const DTYPES = Object.keys(SAFETENSORS_DTYPE_BYTES) as SafetensorsDType[];

/** A tensor with random bytes (BOOL bytes 0 or 1). */
const tensorArb: fc.Arbitrary<SafetensorsTensor> = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
}).chain(({ dtype, shape }) => {
  const n = shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_BYTES[dtype];
  return fc.uint8Array({ minLength: n, maxLength: n }).map((raw): SafetensorsTensor => {
    const bytes = dtype === "BOOL" ? raw.map((b) => b & 1) : raw;
    return decodeSafetensors(
      rawFile({ t: { dtype, shape, data_offsets: [0, n] } }, bytes),
    ).tensors.get("t")!;
  });
});

/** A file from a header object and data bytes. */
function rawFile(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat(len, json, data);
}

const nameArb = fc.oneof(
  fc.constantFrom("a", "b", "conv1.weight", "fc.bias", "__metadata_", "\u00e9\u00e8"),
  fc.string({ maxLength: 6 }),
).filter((s) => s !== "__metadata__");

/** A valid file: up to five tensors and a little metadata. */
const fileArb = fc.tuple(
  fc.uniqueArray(fc.tuple(nameArb, tensorArb), { selector: ([n]) => n, maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
).map(([entries, metadata]) => encodeSafetensors(new Map(entries), metadata));

/** A header-level mutation: repeat one key of the JSON header (entry or metadata). */
interface DuplicateEntry {
  readonly kind: "duplicate entry";
  /** Which key to repeat (modulo the key count). */
  readonly index: number;
  /** Whether the copy's data is appended (so the offsets tile) or shares the original's bytes. */
  readonly appendData: boolean;
}

/** Repeats a header key as the last key, adjusting the length field. */
function duplicateEntry(file: Uint8Array, d: DuplicateEntry): Uint8Array {
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(file.subarray(8, 8 + n)).trimEnd();
  const data = file.subarray(8 + n);
  const header = JSON.parse(text);
  const keys = Object.keys(header);
  if (keys.length === 0) return file;
  const key = keys[d.index % keys.length];
  let value = header[key];
  let extra = new Uint8Array();
  if (key !== "__metadata__" && d.appendData) {
    const [b, e] = value.data_offsets;
    extra = data.slice(b, e);
    value = { ...value, data_offsets: [data.length, data.length + e - b] };
  }
  const json = new TextEncoder().encode(
    `${text.slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(value)}}`,
  );
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  return concat(len, json, data, extra);
}

// ---- The oracle --------------------------------------------------------------------------------

/** Asserts the reader's outcome on `file`: what the reference reads, or a SafetensorsError. */
function checkOutcome(
  file: Uint8Array,
  limits: SafetensorsLimits,
  outcome: { ok: SafetensorsContents } | { error: unknown },
): void {
  const ref = reference(file, limits);
  if ("error" in outcome) {
    const e = outcome.error;
    if (!(e instanceof SafetensorsError)) throw e;
    assert.equal(ref, null, `the reader refused a valid file: ${e.message}`);
    return;
  }
  assert.ok(ref !== null, "the reader accepted a file the format forbids");
  const got = outcome.ok, want: Reference = ref;
  assert.deepEqual(got.metadata, want.metadata);
  assert.deepEqual([...got.tensors.keys()].sort(), [...want.tensors.keys()].sort());
  let total = 0;
  for (const [name, t] of got.tensors) {
    const r = want.tensors.get(name)!;
    assert.equal(t.dtype, r.dtype);
    assert.deepEqual(t.shape, r.shape);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    assert.deepEqual(bytes, r.bytes);
    total += t.data.buffer.byteLength;
  }
  assert.ok(total <= file.length, `${total} bytes of tensors from a ${file.length}-byte file`);
}

function decodeOutcome(file: Uint8Array, limits: SafetensorsLimits) {
  try {
    return { ok: decodeSafetensors(file, limits) };
  } catch (error) {
    return { error };
  }
}

const limitsArb: fc.Arbitrary<SafetensorsLimits> = fc.oneof(
  {
    arbitrary: fc.constant({ maxHeaderBytes: 100_000_000, maxFileBytes: 2_000_000_000 }),
    weight: 4,
  },
  fc.record({
    maxHeaderBytes: fc.integer({ min: 0, max: 400 }),
    maxFileBytes: fc.integer({ min: 0, max: 800 }),
  }),
);

const HEADER_LENGTH = [{ at: 0, width: 8, littleEndian: true }] as const;

/** A valid file, then header-level and byte-level mutations of it. */
const mutatedArb = fileArb.chain((file) =>
  fc.tuple(
    fc.constant(file),
    fc.option(
      fc.record({
        kind: fc.constant("duplicate entry" as const),
        index: fc.nat(),
        appendData: fc.boolean(),
      }),
      { freq: 4 },
    ),
    fc.option(mutationsOf(file, HEADER_LENGTH), { freq: 8 }),
  )
).map(([file, dup, mutations]) => {
  const base = dup ? duplicateEntry(file, dup) : file;
  return { file, mutated: mutations ? mutate(base, mutations) : base };
});

Deno.test(`safetensors fuzz: ${FUZZ_RUNS} mutated files decode as the format says or throw SafetensorsError`, () => {
  let refused = 0;
  const rss = Deno.memoryUsage().rss;
  fc.assert(
    fc.property(mutatedArb, limitsArb, ({ mutated }, limits) => {
      const outcome = decodeOutcome(mutated, limits);
      if ("error" in outcome) refused++;
      checkOutcome(mutated, limits, outcome);
    }),
    { numRuns: FUZZ_RUNS },
  );
  // Both outcomes occur (checked where the case count makes it certain in practice).
  if (FUZZ_RUNS >= 100) assert.ok(refused > 0 && refused < FUZZ_RUNS, `${refused} refused`);
  assert.ok(Deno.memoryUsage().rss - rss < 200e6, "resident memory grew by more than 200 MB");
});

Deno.test("safetensors fuzz: a duplicated entry is always refused; an unmutated file decodes", () => {
  fc.assert(
    fc.property(fileArb, fc.nat(), fc.boolean(), (file, index, appendData) => {
      checkOutcome(file, DEFAULT, decodeOutcome(file, DEFAULT));
      assert.ok(reference(file, DEFAULT) !== null);
      const dup = duplicateEntry(file, { kind: "duplicate entry", index, appendData });
      if (dup === file) return;
      assert.throws(() => decodeSafetensors(dup), SafetensorsError);
      assert.equal(reference(dup, DEFAULT), null);
    }),
    { numRuns: Math.max(50, FUZZ_RUNS >> 2) },
  );
});

const DEFAULT: SafetensorsLimits = { maxHeaderBytes: 100_000_000, maxFileBytes: 2_000_000_000 };

Deno.test(`safetensors fuzz: readSafetensorsFile agrees with decodeSafetensors on mutated files`, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f.safetensors`;
    await fc.assert(
      fc.asyncProperty(mutatedArb, async ({ mutated }) => {
        await Deno.writeFile(path, mutated);
        let outcome: { ok: SafetensorsContents } | { error: unknown };
        try {
          outcome = { ok: await readSafetensorsFile(path) };
        } catch (error) {
          outcome = { error };
          if (error instanceof SafetensorsError) assert.equal(error.file, path);
        }
        checkOutcome(mutated, DEFAULT, outcome);
      }),
      { numRuns: Math.max(50, FUZZ_RUNS >> 2) },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
