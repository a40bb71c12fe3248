/**
 * Fuzzing the IDX reader: random mutations of valid files (bit flips,
 * truncations, corrupted dimension fields, duplicated and inserted byte
 * ranges) either parse to exactly the dims and bytes the mutated file holds
 * under the IDX layout, or throw DataError naming the file; gzip-compressed
 * files either give the original values (gzip's CRC-32 and length guard
 * them) or DataError. Never another exception; the parsed data is a view of
 * the input (no allocation), and decompression stops at its byte limit.
 * `DA3_FUZZ_RUNS` sets the case count.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DataError } from "../lib/data/errors.ts";
import {
  decodeIdx,
  encodeIdx,
  gunzip,
  gzip,
  type IdxArray,
  MAX_GUNZIP_BYTES,
  parseIdx,
} from "../lib/data/idx.ts";
import { FUZZ_RUNS, type LengthField, mutate, mutationsOf, sameBytes } from "./fuzz_mutations.ts";

/** A valid unsigned-byte IDX file of rank 1 to 4. */
const idxArb = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }).chain(
  (dims) => {
    const n = dims.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({
      dims,
      data,
      file: encodeIdx(dims, data),
    }));
  },
);

/** The dims fields of a file of rank `rank`: big-endian u32 words after the magic. */
function dimFields(rank: number): LengthField[] {
  return Array.from({ length: rank }, (_, i) => ({ at: 4 + 4 * i, width: 4, littleEndian: false }));
}

/** The reference reading of IDX bytes: dims and data, or null when the layout forbids them. */
function reference(b: Uint8Array): IdxArray | null {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0 || b[2] !== 0x08 || b[3] === 0) return null;
  const rank = b[3];
  if (b.length < 4 + 4 * rank) return null;
  const dims: number[] = [];
  let count = 1n;
  for (let i = 0; i < rank; i++) {
    const at = 4 + 4 * i;
    const d = ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
    dims.push(d);
    count *= BigInt(d);
  }
  if (BigInt(b.length) !== BigInt(4 + 4 * rank) + count) return null;
  return { dims, data: b.subarray(4 + 4 * rank) };
}

/** Asserts what parseIdx makes of `bytes`: the reference reading, or DataError naming the file. */
function checkParse(bytes: Uint8Array): "ok" | "refused" {
  const ref = reference(bytes);
  let got: IdxArray;
  try {
    got = parseIdx(bytes, "fuzz.idx");
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    assert.ok(e.message.includes("fuzz.idx"), e.message);
    assert.equal(ref, null, `a valid file was refused: ${e.message}`);
    return "refused";
  }
  assert.ok(ref !== null, `a file the layout forbids was accepted as dims [${got.dims}]`);
  assert.deepEqual(got.dims, ref.dims);
  assert.ok(sameBytes(got.data, ref.data));
  assert.equal(got.data.buffer, bytes.buffer, "the data is a view of the input");
  return "ok";
}

Deno.test(`IDX fuzz: ${FUZZ_RUNS} mutated files parse as the layout says or throw DataError`, () => {
  const seen = { ok: 0, refused: 0 };
  fc.assert(
    fc.property(
      idxArb.chain(({ file, dims }) =>
        fc.tuple(fc.constant(file), mutationsOf(file, dimFields(dims.length)))
      ),
      ([file, mutations]) => {
        seen[checkParse(mutate(file, mutations))]++;
      },
    ),
    { numRuns: FUZZ_RUNS },
  );
  // Both outcomes occur (checked where the case count makes it certain in practice).
  if (FUZZ_RUNS >= 100) assert.ok(seen.ok > 0 && seen.refused > 0, JSON.stringify(seen));
});

Deno.test(`IDX fuzz: mutated gzip files give the original values or DataError`, async () => {
  await fc.assert(
    fc.asyncProperty(
      idxArb.chain(({ file, dims, data }) =>
        fc.tuple(
          fc.constant({ dims, data }),
          fc.constant(file).map(gzip),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 2 }),
          fc.option(fc.nat(), { freq: 3 }),
        )
      ),
      async ([original, zipped, flips, keep]) => {
        const z = await zipped;
        const mutations = [
          ...flips.map(([at, bit]) => ({ kind: "flip" as const, at, bit })),
          ...(keep === null ? [] : [{ kind: "truncate" as const, keep }]),
        ];
        const bytes = mutate(z, mutations);
        let got: IdxArray;
        try {
          got = await decodeIdx(bytes, "fuzz.idx.gz");
        } catch (e) {
          if (!(e instanceof DataError)) throw e;
          assert.ok(e.message.includes("fuzz.idx.gz"), e.message);
          return;
        }
        assert.deepEqual(got.dims, original.dims);
        assert.ok(sameBytes(got.data, original.data));
      },
    ),
    { numRuns: Math.max(50, FUZZ_RUNS >> 2) },
  );
});

Deno.test("gunzip stops at its byte limit: a 40 MB gzip bomb under a 1 MB limit is a DataError", async () => {
  assert.equal(MAX_GUNZIP_BYTES, 1_000_000_000);
  const bomb = await gzip(encodeIdx([40_000_000], new Uint8Array(40_000_000)));
  assert.ok(bomb.length < 100_000, `${bomb.length} bytes`);
  const rss = Deno.memoryUsage().rss;
  for (
    const run of [
      () => decodeIdx(bomb, "bomb.idx.gz", 1_000_000),
      () => gunzip(bomb, "bomb.gz", 1_000_000),
    ]
  ) {
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.ok(e.message.includes("more than 1000000 bytes"), e.message);
      return true;
    });
  }
  assert.ok(Deno.memoryUsage().rss - rss < 30e6, "resident memory grew by more than 30 MB");
  const small = encodeIdx([3], Uint8Array.of(1, 2, 3));
  assert.deepEqual((await decodeIdx(await gzip(small), "ok.gz", small.length)).dims, [3]);
  const tight = await gzip(small);
  await assert.rejects(() => decodeIdx(tight, "tight.gz", small.length - 1), DataError);
});
