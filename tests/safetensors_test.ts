/**
 * safetensors: round trips (fast-check), a table of corrupt files each
 * rejected with a SafetensorsError naming the fault, rejection of oversized
 * claims before allocation, F16/BF16 widening, and the atomic file write.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsData,
  type SafetensorsDType,
  SafetensorsError,
  type SafetensorsTensor,
  shapeNumel,
  toFloat32Array,
  writeSafetensorsFileAtomic,
} from "../lib/io/safetensors.ts";
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from "../lib/io/half.ts";

const DTYPES = Object.keys(SAFETENSORS_DTYPE_BYTES) as SafetensorsDType[];

/** A file from a header (object, JSON text or raw bytes), data bytes and an optional length field. */
function rawFile(
  header: unknown,
  data: Uint8Array = new Uint8Array(),
  length?: bigint,
): Uint8Array {
  const json = header instanceof Uint8Array
    ? header
    : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The bytes of a tensor's data. */
function bytesOf(data: SafetensorsData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The typed array of `dtype` viewing a copy of `bytes`. */
function arrayOf(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsData {
  const { tensors } = decodeSafetensors(rawFile(
    {
      t: {
        dtype,
        shape: [bytes.length / SAFETENSORS_DTYPE_BYTES[dtype]],
        data_offsets: [0, bytes.length],
      },
    },
    bytes,
  ));
  return tensors.get("t")!.data;
}

const tensorArb: fc.Arbitrary<SafetensorsTensor> = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
}).chain(({ dtype, shape }) => {
  const n = shapeNumel(shape) * SAFETENSORS_DTYPE_BYTES[dtype];
  return fc.uint8Array({ minLength: n, maxLength: n }).map((raw) => {
    const bytes = dtype === "BOOL" ? raw.map((b) => b & 1) : raw;
    return { dtype, shape, data: arrayOf(dtype, bytes) };
  });
});

const nameArb = fc.string({ unit: "binary", maxLength: 12 }).filter((s) => s !== "__metadata__");

Deno.test("encode then decode returns the same names, dtypes, shapes, bytes and metadata", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(nameArb, tensorArb), { selector: ([n]) => n, maxLength: 6 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }),
      (entries, metadata) => {
        const bytes = encodeSafetensors(new Map(entries), metadata);
        const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assert.equal(headerLength % 8, 0);
        const back = decodeSafetensors(bytes);
        assert.deepEqual(back.metadata, { ...metadata });
        assert.equal(back.tensors.size, entries.length);
        for (const [name, t] of entries) {
          const got = back.tensors.get(name);
          assert.ok(got, `missing ${name}`);
          assert.equal(got.dtype, t.dtype);
          assert.deepEqual(got.shape, t.shape);
          assert.equal(got.data.constructor, t.data.constructor);
          assert.deepEqual(bytesOf(got.data), bytesOf(t.data));
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("encoded tensors start at multiples of their element size", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    b: { dtype: "F32", shape: [1], data: new Float32Array([1]) },
    c: { dtype: "I64", shape: [1], data: new BigInt64Array([7n]) },
  });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.c.data_offsets, [0, 8]);
  assert.deepEqual(header.b.data_offsets, [8, 12]);
  assert.deepEqual(header.a.data_offsets, [12, 15]);
  assert.ok(!("__metadata__" in header));
  assert.equal(bytes.length, 8 + n + 15);
});

const F32_4 = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
const good = { a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } };
const goodFile = rawFile(good, F32_4);

// deno-fmt-ignore
/** Each row: a corrupt file, and strings its error message must contain. */
const corrupt: [string, Uint8Array, string[]][] = [
  ["empty file", new Uint8Array(), ["0 bytes", "at least 8"]],
  ["shorter than the length field", new Uint8Array(5), ["5 bytes", "at least 8"]],
  ["truncated in the data", goodFile.subarray(0, goodFile.length - 4), ['"a"', "out of range", "12-byte data section"]],
  ["truncated in the header", goodFile.subarray(0, 20), ["header length", "exceeds the 12 bytes"]],
  ["header length > file", rawFile(good, F32_4, 1000n), ["header length 1000", "exceeds"]],
  ["header length > 100 MB", rawFile(good, F32_4, 1n << 40n), ["header length 1099511627776", "limit of 100000000"]],
  ["bad JSON", rawFile('{"a": {"dtype": "F32",', F32_4), ["not valid JSON"]],
  ["invalid UTF-8", rawFile(new Uint8Array([0x7b, 0xff, 0x7d])), ["UTF-8"]],
  ["not an object", rawFile("[1, 2]"), ["start with '{'"]],
  ["entry not an object", rawFile({ a: 3 }), ['"a"', "not an object"]],
  ["unknown dtype", rawFile({ a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), ['"a"', 'dtype "F8_E4M3"']],
  ["missing dtype", rawFile({ a: { shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), ['"a"', "dtype undefined"]],
  ["unknown field", rawFile({ a: { ...good.a, strides: [1] } }, F32_4), ['"a"', 'unknown field "strides"']],
  ["negative shape", rawFile({ a: { dtype: "F32", shape: [-1, 4], data_offsets: [0, 16] } }, F32_4), ['"a"', "-1", "non-negative integer"]],
  ["fractional shape", rawFile({ a: { dtype: "F32", shape: [1.5], data_offsets: [0, 16] } }, F32_4), ['"a"', "1.5"]],
  ["shape not an array", rawFile({ a: { dtype: "F32", shape: 4, data_offsets: [0, 16] } }, F32_4), ['"a"', "not an array"]],
  ["offsets out of range", rawFile({ a: { dtype: "F32", shape: [8], data_offsets: [0, 32] } }, F32_4), ['"a"', "[0, 32]", "out of range", "16-byte"]],
  ["offsets reversed", rawFile({ a: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }, F32_4), ['"a"', "begin > end"]],
  ["offsets not a pair", rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0] } }, F32_4), ['"a"', "data_offsets [0]"]],
  ["negative offset", rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } }, F32_4), ['"a"', "non-negative"]],
  ["size mismatch", rawFile({ a: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, F32_4), ['"a"', "size mismatch", "16 bytes", "needs 12"]],
  ["overlapping tensors", rawFile({
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
    b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
  }, F32_4), ['"b"', 'overlap tensor "a"', "[0, 8]"]],
  ["tensor inside another", rawFile({
    a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
    b: { dtype: "U8", shape: [1], data_offsets: [15, 16] },
  }, F32_4), ['"b"', 'overlap tensor "a"']],
  ["duplicate tensor name", rawFile(
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
    F32_4,
  ), ['"a"', 'duplicate key "a"']],
  ["duplicate name spelt with an escape", rawFile(
    '{"conv1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\\u0063onv1.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
    F32_4,
  ), ['"conv1.weight"', "duplicate key"]],
  ["duplicate field of an entry", rawFile(
    '{"a":{"dtype":"F32","shape":[4],"shape":[4],"data_offsets":[0,16]}}',
    F32_4,
  ), ['"a"', 'duplicate key "shape"']],
  ["duplicate __metadata__", rawFile(
    `{"__metadata__":{"x":"1"},"__metadata__":{"x":"2"},"a":${JSON.stringify(good.a)}}`,
    F32_4,
  ), ['duplicate key "__metadata__"']],
  ["hole between tensors", rawFile({
    a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
  }, F32_4), ['"b"', "hole of 4 bytes", 'after tensor "a"']],
  ["hole before the first tensor", rawFile({ a: { dtype: "F32", shape: [3], data_offsets: [4, 16] } }, F32_4), ['"a"', "hole of 4 bytes", "after the header"]],
  ["trailing bytes after the last tensor", rawFile({ a: { dtype: "F32", shape: [3], data_offsets: [0, 12] } }, F32_4), ["4 trailing bytes", '"a"']],
  ["trailing bytes and no tensor", rawFile({}, F32_4), ["16 trailing bytes"]],
  ["empty tensor inside another", rawFile({
    a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
    b: { dtype: "F32", shape: [0], data_offsets: [8, 8] },
  }, F32_4), ['"b"', 'overlap tensor "a"']],
  ["metadata not strings", rawFile({ __metadata__: { epoch: 3 }, ...good }, F32_4), ["__metadata__.epoch", "not a string"]],
  ["metadata not an object", rawFile({ __metadata__: "x", ...good }, F32_4), ["__metadata__", "not an object"]],
  ["BOOL byte 2", rawFile({ a: { dtype: "BOOL", shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 2])), ['"a"', "BOOL"]],
];

/** Asserts `fn` throws a SafetensorsError whose message contains every string of `parts`. */
async function assertRejects(fn: () => unknown, parts: string[]): Promise<void> {
  await assert.rejects(async () => await fn(), (e: unknown) => {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

for (const [label, bytes, parts] of corrupt) {
  Deno.test(`corrupt input is rejected: ${label}`, async () => {
    await assertRejects(() => decodeSafetensors(bytes), parts);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/f.safetensors`, bytes);
      await assertRejects(() => readSafetensorsFile(`${dir}/f.safetensors`), parts);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("readSafetensorsFile names the file in its error and its `file` field", async () => {
  const [, bytes] = corrupt.find(([label]) => label === "duplicate tensor name")!;
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/dup.safetensors`;
    await Deno.writeFile(path, bytes);
    await assert.rejects(() => readSafetensorsFile(path), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError);
      assert.equal(e.file, path);
      assert.equal(e.tensor, "a");
      assert.ok(e.message.startsWith(`${path}: tensor "a": duplicate key`), e.message);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the well-formed base of the corrupt table decodes", () => {
  const { tensors } = decodeSafetensors(goodFile);
  assert.deepEqual([...(tensors.get("a")!.data as Float32Array)], [1, 2, 3, 4]);
});

Deno.test("an error names the tensor in its `tensor` field", () => {
  const [, bytes] = corrupt.find(([label]) => label === "size mismatch")!;
  assert.throws(() => decodeSafetensors(bytes), (e: unknown) => {
    return e instanceof SafetensorsError && e.tensor === "a";
  });
});

Deno.test("a 100-byte file whose header claims a 10 GB tensor is rejected before allocating", async () => {
  const header = {
    big: { dtype: "F32", shape: [50_000, 50_000], data_offsets: [0, 10_000_000_000] },
  };
  const json = JSON.stringify(header);
  const bytes = rawFile(json, new Uint8Array(100 - 8 - json.length));
  assert.equal(bytes.length, 100);
  const before = Deno.memoryUsage().rss;
  await assertRejects(() => decodeSafetensors(bytes), ['"big"', "out of range", "10000000000"]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/big.safetensors`, bytes);
    await assertRejects(() => readSafetensorsFile(`${dir}/big.safetensors`), [
      '"big"',
      "out of range",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(Deno.memoryUsage().rss - before < 100e6, "resident memory grew by more than 100 MB");
});

Deno.test("readSafetensorsFile rejects by file size and by header without reading the data", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A sparse 1.5 GB file whose two tensors overlap: the header alone condemns it.
    const size = 1_500_000_000;
    const header = JSON.stringify({
      a: { dtype: "U8", shape: [1_000_000_000], data_offsets: [0, 1_000_000_000] },
      b: { dtype: "U8", shape: [400_000_000], data_offsets: [900_000_000, 1_300_000_000] },
    });
    const path = `${dir}/sparse.safetensors`;
    await Deno.writeFile(path, rawFile(header));
    await Deno.truncate(path, size);
    const before = Deno.memoryUsage().rss;
    await assertRejects(() => readSafetensorsFile(path), ['"b"', 'overlap tensor "a"']);
    assert.ok(Deno.memoryUsage().rss - before < 100e6, "resident memory grew by more than 100 MB");
    // Over the file-size limit: rejected from Deno.stat alone.
    await assertRejects(
      () => readSafetensorsFile(path, { maxHeaderBytes: 100_000_000, maxFileBytes: 1_000_000_000 }),
      ["1500000000 bytes", "limit of 1000000000"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a smaller header limit is honoured", () => {
  assert.throws(
    () => decodeSafetensors(goodFile, { maxHeaderBytes: 16, maxFileBytes: 1e9 }),
    (e: unknown) => e instanceof SafetensorsError && e.message.includes("limit of 16 bytes"),
  );
});

Deno.test("zero-size tensors and scalars decode", () => {
  const bytes = encodeSafetensors({
    empty: { dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
    scalar: { dtype: "I64", shape: [], data: new BigInt64Array([-5n]) },
  });
  const { tensors } = decodeSafetensors(bytes);
  assert.equal(tensors.get("empty")!.data.length, 0);
  assert.deepEqual(tensors.get("scalar")!.shape, []);
  assert.deepEqual([...toFloat32Array(tensors.get("scalar")!)], [-5]);
});

// deno-fmt-ignore
/** Each row: a writer call with a wrong tensor, and strings its message must contain. */
const badWrites: [string, () => unknown, string[]][] = [
  ["reserved name", () => encodeSafetensors({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array() } }), ["reserved"]],
  ["wrong array type", () => encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float64Array(2) } }), ['"w"', "Float32Array", "Float64Array"]],
  ["length mismatch", () => encodeSafetensors({ w: { dtype: "I32", shape: [2, 3], data: new Int32Array(5) } }), ['"w"', "6 elements", "has 5"]],
  ["negative shape", () => encodeSafetensors({ w: { dtype: "U8", shape: [-2], data: new Uint8Array(2) } }), ['"w"', "-2"]],
  ["unknown dtype", () => encodeSafetensors({ w: { dtype: "F8" as SafetensorsDType, shape: [1], data: new Uint8Array(1) } }), ['"w"', "F8"]],
  ["metadata not string", () => encodeSafetensors({}, { epoch: 3 as unknown as string }), ["__metadata__.epoch"]],
];

for (const [label, fn, parts] of badWrites) {
  Deno.test(`the writer rejects: ${label}`, async () => {
    await assertRejects(fn, parts);
  });
}

Deno.test("F16 widening matches Float16Array for all 65536 bit patterns", () => {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const ours = float16BitsToFloat32(bits);
  const ref = new Float16Array(bits.buffer);
  for (let i = 0; i < 65536; i++) {
    assert.ok(Object.is(ours[i], ref[i]), `bits 0x${i.toString(16)}: ${ours[i]} vs ${ref[i]}`);
  }
});

Deno.test("F16 and BF16 widening of known values", () => {
  const f16 = float16BitsToFloat32(
    new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00]),
  );
  assert.deepEqual([...f16], [1, -2, 65504, 2 ** -24, -0, Infinity, NaN]);
  const bf16 = bfloat16BitsToFloat32(new Uint16Array([0x3f80, 0xc040, 0x7f80, 0x0000, 0x4049]));
  assert.deepEqual([...bf16], [1, -3, Infinity, 0, 3.140625]);
});

Deno.test("toFloat32Array widens each numeric dtype", () => {
  fc.assert(
    fc.property(tensorArb, (t) => {
      const f = toFloat32Array(t);
      assert.equal(f.length, t.data.length);
      for (let i = 0; i < f.length; i++) {
        const v = t.data[i];
        const expected = t.dtype === "F16"
          ? float16BitsToFloat32(new Uint16Array([v as number]))[0]
          : t.dtype === "BF16"
          ? bfloat16BitsToFloat32(new Uint16Array([v as number]))[0]
          : Math.fround(Number(v));
        assert.ok(Object.is(f[i], expected), `${t.dtype}[${i}]: ${f[i]} vs ${expected}`);
      }
    }),
  );
});

Deno.test("writeSafetensorsFileAtomic writes, replaces and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ckpt.safetensors`;
    const one = { w: { dtype: "F32" as const, shape: [3], data: new Float32Array([1, 2, 3]) } };
    await writeSafetensorsFileAtomic(path, one, { step: "1" });
    const two = { w: { dtype: "F32" as const, shape: [2], data: new Float32Array([4, 5]) } };
    await writeSafetensorsFileAtomic(path, two, { step: "2" });
    const back = await readSafetensorsFile(path);
    assert.deepEqual(back.metadata, { step: "2" });
    assert.deepEqual([...(back.tensors.get("w")!.data as Float32Array)], [4, 5]);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["ckpt.safetensors"]);
    // A tensor that cannot be encoded leaves the previous file in place.
    await assertRejects(
      () =>
        writeSafetensorsFileAtomic(path, {
          w: { dtype: "F32", shape: [9], data: new Float32Array(1) },
        }),
      ['"w"'],
    );
    assert.deepEqual((await readSafetensorsFile(path)).metadata, { step: "2" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSafetensorsFileAtomic into a missing directory fails and creates nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeSafetensorsFileAtomic(`${dir}/no/such/x.safetensors`, {}));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
