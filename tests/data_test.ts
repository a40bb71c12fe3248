/**
 * The data layer: IDX and gzip parsing, checksums, the embedded domains,
 * canonical shapes and deterministic batching.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  balancedIndices,
  batches,
  blendWithPhotos,
  canonicalOptions,
  channelStats,
  ChecksumError,
  classCounts,
  dataDirFromPath,
  DataError,
  type Dataset,
  decodeIdx,
  domainInfo,
  DOMAINS,
  encodeIdx,
  epochOrder,
  gunzip,
  gzip,
  loadCached,
  loadDomainFrom,
  loadEmbedded,
  padTo,
  parseIdx,
  parseManifest,
  readManifest,
  readVerified,
  sha256Hex,
  toCanonical,
} from "../lib/data/mod.ts";
import { EMOJI_DOMAINS } from "../lib/data/emoji.ts";
import { parsePrepareArgs } from "../scripts/prepare_data.ts";

const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);
const assertMatch = (s: string, re: RegExp) => assert.match(s, re);

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

function assertThrows<E extends Error>(f: () => unknown, cls: ErrorClass<E>, includes = ""): E {
  try {
    f();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert((e as E).message.includes(includes), `"${(e as E).message}" lacks "${includes}"`);
    return e as E;
  }
  throw new assert.AssertionError({ message: `expected ${cls.name} to be thrown` });
}

async function assertRejects<E extends Error>(f: () => Promise<unknown>, cls: ErrorClass<E>) {
  try {
    await f();
  } catch (e) {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    return e as E;
  }
  throw new assert.AssertionError({ message: `expected ${cls.name} to be thrown` });
}

const EMBEDDED = new URL("../data/embedded/", import.meta.url).pathname;

function tiny(n: number, shape: [number, number, number] = [1, 2, 2]): Dataset {
  const size = shape[0] * shape[1] * shape[2];
  return {
    name: "tiny",
    classes: ["a", "b", "c"],
    images: Uint8Array.from({ length: n * size }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
    shape,
    source: "test",
  };
}

Deno.test("IDX: encode then parse gives the same dims and bytes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      (dims) => {
        const count = dims.reduce((a, b) => a * b, 1);
        const data = Uint8Array.from({ length: count }, (_, i) => (i * 13) % 256);
        const parsed = parseIdx(encodeIdx(dims, data), "t.idx");
        assertEquals(parsed.dims, dims);
        assertEquals(Array.from(parsed.data), Array.from(data));
      },
    ),
  );
});

Deno.test("IDX: truncated, padded or non-IDX bytes throw DataError naming the file", () => {
  const good = encodeIdx([2, 3, 3], new Uint8Array(18));
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 1), /truncated/],
    [good.subarray(0, 6), /header truncated/],
    [new Uint8Array([...good, 0]), /trailing bytes/],
    [new Uint8Array([1, 2, 8, 1, 0, 0, 0, 0]), /bad magic/],
    [new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0]), /unsupported/],
  ];
  for (const [bytes, why] of cases) {
    const e = assertThrows(() => parseIdx(bytes, "train-images.idx"), DataError);
    assertEquals(e.file, "train-images.idx");
    assertMatch(e.message, /^train-images\.idx: /);
    assertMatch(e.message, why);
  }
});

Deno.test("IDX: gzip round trip; a truncated .gz throws DataError naming the file", async () => {
  const idx = encodeIdx([4, 28, 28], Uint8Array.from({ length: 4 * 784 }, (_, i) => i % 251));
  const z = await gzip(idx);
  assertEquals(Array.from(await gunzip(z, "a.gz")), Array.from(idx));
  assertEquals((await decodeIdx(z, "a.gz")).dims, [4, 28, 28]);
  const e = await assertRejects(() => decodeIdx(z.subarray(0, z.length >> 1), "cut.gz"), DataError);
  assertEquals(e.file, "cut.gz");
  assertMatch(e.message, /cut\.gz: corrupt or truncated gzip/);
});

Deno.test("checksum: a tampered file throws ChecksumError naming it; the loader refuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const rel of ["manifest.json", "mnist/train-images.idx.gz", "mnist/train-labels.idx.gz"]) {
      await Deno.mkdir(`${dir}/mnist`, { recursive: true });
      await Deno.copyFile(`${EMBEDDED}/${rel}`, `${dir}/${rel}`);
    }
    for (const rel of ["mnist/test-images.idx.gz", "mnist/test-labels.idx.gz"]) {
      await Deno.copyFile(`${EMBEDDED}/${rel}`, `${dir}/${rel}`);
    }
    const data = dataDirFromPath(dir);
    const manifest = await readManifest(data);
    await readVerified(data, manifest, "mnist/train-labels.idx.gz");
    const bytes = await Deno.readFile(`${dir}/mnist/train-labels.idx.gz`);
    bytes[bytes.length >> 1] ^= 0x01;
    await Deno.writeFile(`${dir}/mnist/train-labels.idx.gz`, bytes);
    const e = await assertRejects(
      () => readVerified(data, manifest, "mnist/train-labels.idx.gz"),
      ChecksumError,
    );
    assertMatch(e.file, /mnist\/train-labels\.idx\.gz$/);
    assertEquals(e.actual, await sha256Hex(bytes));
    assertEquals(e.expected, manifest.files["mnist/train-labels.idx.gz"].sha256);
    await assertRejects(() => loadDomainFrom(data, "mnist"), ChecksumError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest: invalid JSON or schema, and a missing cache, throw DataError", async () => {
  assertThrows(() => parseManifest("{", "m.json"), DataError, "not JSON");
  assertThrows(() => parseManifest('{"format":"other"}', "m.json"), DataError, "invalid manifest");
  const e = await assertRejects(
    () => loadCached("mnist", { cacheDir: "/nonexistent/da3-data" }),
    DataError,
  );
  assertMatch(e.message, /deno task data/);
  assertThrows(() => domainInfo("cifar"), DataError, "unknown domain");
});

Deno.test("embedded: every digit, letter and clothing domain loads as 3×32×32 with 10 balanced classes", async () => {
  const manifest = await readManifest(dataDirFromPath(EMBEDDED));
  const total = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
  assert(total <= 3_000_000, `embedded subset is ${total} bytes`);
  assert(DOMAINS.filter((d) => d.role === "target").length >= 6);
  // the emoji domains (9 categories) are checked in emoji_test.ts
  for (const info of DOMAINS.filter((d) => !EMOJI_DOMAINS.includes(d.name))) {
    const { train, test } = await loadEmbedded(info.name);
    for (const [ds, perClass] of [[train, 100], [test, 30]] as const) {
      assertEquals(ds.name, info.name);
      assertEquals(ds.shape, [3, 32, 32]);
      assertEquals(ds.classes.length, 10);
      assertEquals(ds.images.length, ds.labels.length * 3 * 32 * 32);
      assertEquals(classCounts(ds), new Array(10).fill(perClass), info.name);
      const stats = channelStats(ds);
      for (const m of stats.mean) assert(m > 0.02 && m < 0.9, `${info.name} mean ${m}`);
    }
    assertEquals(train.derivedFrom, info.derivedFrom);
  }
  const raw = await loadEmbedded("sklearn-digits", { canonical: false });
  assertEquals(raw.train.shape, [1, 8, 8]);
});

Deno.test("embedded: MNIST-M-style blend is colour, deterministic, derived from mnist", async () => {
  const a = await loadEmbedded("mnist-m", { canonical: false });
  const b = await loadEmbedded("mnist-m", { canonical: false });
  const mnist = await loadEmbedded("mnist", { canonical: false });
  assertEquals(a.train.shape, [3, 28, 28]);
  assertEquals(a.train.derivedFrom, "mnist");
  assertEquals(Array.from(a.train.labels), Array.from(mnist.train.labels));
  assertEquals(await sha256Hex(a.train.images), await sha256Hex(b.train.images));
  const plane = 28 * 28;
  let differ = 0;
  for (let i = 0; i < plane * 3; i++) if (a.train.images[i] !== a.train.images[i + plane]) differ++;
  assert(differ > 0, "channels should differ");
  const photos = { dims: [1, 3, 28, 28], data: new Uint8Array(3 * plane).fill(200) };
  const blended = blendWithPhotos(mnist.test, photos, 5);
  const d = mnist.test.images[300];
  assertEquals(blended.images[300], Math.abs(200 - d));
});

Deno.test("canonical: centred padding and grayscale replication", () => {
  const ds = tiny(2, [1, 2, 2]);
  const padded = padTo(ds, 4, 4);
  assertEquals(Array.from(padded.images.subarray(0, 16)), [
    ...[0, 0, 0, 0],
    ...[0, ds.images[0], ds.images[1], 0],
    ...[0, ds.images[2], ds.images[3], 0],
    ...[0, 0, 0, 0],
  ]);
  const c = toCanonical(ds);
  assertEquals(c.shape, [3, 32, 32]);
  assertEquals(c.images.subarray(0, 1024), c.images.subarray(1024, 2048));
  assertEquals(toCanonical(tiny(1, [1, 8, 8]), { fit: 20 }).shape, [3, 32, 32]);
});

Deno.test("image size per backbone: the 32×32 layout scaled, each image resampled once", async () => {
  for (const name of ["fashion", "sklearn-digits", "mnist-m", "emoji-google"]) {
    assertEquals(await loadEmbedded(name, { size: 32 }), await loadEmbedded(name), name);
  }
  const raw = await loadEmbedded("fashion", { canonical: false });
  const big = await loadEmbedded("fashion", { size: 64 });
  assertEquals(big.train.shape, [3, 64, 64]);
  // 28×28 scaled to 56×56 (one bilinear resize) and padded by 4 on each side
  const direct = toCanonical(raw.train, { size: 64, fit: 56 });
  assertEquals(big.train.images, direct.images);
  assertEquals(big.train.images.subarray(0, 4 * 64), new Uint8Array(4 * 64));
  const digits = await loadEmbedded("sklearn-digits", { size: 64 });
  assertEquals(digits.test.shape, [3, 64, 64]);
  const emoji = await loadEmbedded("emoji-google", { canonical: false });
  const emoji64 = await loadEmbedded("emoji-google", { size: 64 });
  assertEquals(emoji64.train.images, emoji.train.images); // stored at 64: not resampled
  assertEquals(canonicalOptions(domainInfo("emoji-google"), 64, 96), { size: 96, fit: 96 });
  assertEquals(canonicalOptions(domainInfo("letters"), 28, 32), { size: 32 });
  assertThrows(() => canonicalOptions(domainInfo("letters"), 28, 6.5), DataError, "image size");
});

Deno.test("balancedIndices: at most perClass of each class, sorted, distinct", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200, max: 4 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer(),
      (labels, perClass, seed) => {
        const idx = balancedIndices(labels, 5, perClass, seed);
        assertEquals(new Set(idx).size, idx.length);
        assertEquals(idx, [...idx].sort((a, b) => a - b));
        for (let c = 0; c < 5; c++) {
          const have = labels.filter((l) => l === c).length;
          assertEquals(idx.filter((i) => labels[i] === c).length, Math.min(have, perClass));
        }
      },
    ),
  );
});

Deno.test("batches: deterministic per seed, every example exactly once per epoch", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 17 }),
      fc.integer(),
      fc.nat(5),
      (n, batchSize, seed, epoch) => {
        const ds = tiny(n);
        const opts = { batchSize, seed, epoch, augment: { cropPadding: 1, flip: true } };
        const a = [...batches(ds, opts)], b = [...batches(ds, opts)];
        assertEquals(a.length, Math.ceil(n / batchSize));
        assertEquals(a.map((x) => Array.from(x.x)), b.map((x) => Array.from(x.x)));
        const seen = a.flatMap((x) => Array.from(x.indices)).sort((p, q) => p - q);
        assertEquals(seen, Array.from({ length: n }, (_, i) => i));
        for (const batch of a) {
          assertEquals(Array.from(batch.y), Array.from(batch.indices, (i) => ds.labels[i]));
          assertEquals(batch.shape, [batch.indices.length, 1, 2, 2]);
        }
      },
    ),
  );
});

Deno.test("batches: epochs reorder; dropLast drops only the tail", () => {
  assert(epochOrder(100, 7, 0).some((v, i) => v !== epochOrder(100, 7, 1)[i]));
  assertEquals(Array.from(epochOrder(100, 7, 3)), Array.from(epochOrder(100, 7, 3)));
  const ds = tiny(10);
  const kept = [...batches(ds, { batchSize: 4, seed: 1, dropLast: true })];
  assertEquals(kept.map((b) => b.indices.length), [4, 4]);
});

Deno.test("batches: without augmentation an epoch has per-channel mean 0 and std 1", async () => {
  const { train } = await loadEmbedded("mnist-m");
  let count = 0;
  const sum = [0, 0, 0], sq = [0, 0, 0];
  for (const b of batches(train, { batchSize: 128, seed: 3 })) {
    const [n, c, h, w] = b.shape;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < c; k++) {
        for (let p = 0; p < h * w; p++) {
          const v = b.x[(i * c + k) * h * w + p];
          sum[k] += v;
          sq[k] += v * v;
        }
      }
    }
    count += n * h * w;
  }
  for (let k = 0; k < 3; k++) {
    assert(Math.abs(sum[k] / count) < 1e-3, `mean ${sum[k] / count}`);
    assert(Math.abs(sq[k] / count - 1) < 1e-3, `variance ${sq[k] / count}`);
  }
});

Deno.test("augmentation: flips only where labels survive it (not digits or letters)", () => {
  for (const d of DOMAINS) {
    assertEquals(d.augment.flip, d.name === "fashion" || EMOJI_DOMAINS.includes(d.name), d.name);
  }
  const ds = tiny(40, [1, 3, 3]);
  const stats = channelStats(ds);
  const norm = (v: number) => Math.fround((v / 255 - stats.mean[0]) / stats.std[0]);
  const plain = [...batches(ds, { batchSize: 40, seed: 9, shuffle: false })][0];
  assertEquals(Array.from(plain.x), Array.from(ds.images, norm));
  const flipped = [
    ...batches(ds, { batchSize: 40, seed: 9, augment: { cropPadding: 0, flip: true } }),
  ];
  let mirrored = 0;
  for (const b of flipped) {
    b.indices.forEach((j, i) => {
      const got = Array.from(b.x.subarray(i * 9, (i + 1) * 9));
      const img = Array.from(ds.images.subarray(j * 9, (j + 1) * 9), norm);
      const mirror = [2, 1, 0, 5, 4, 3, 8, 7, 6].map((p) => img[p]);
      const same = got.every((v, p) => v === img[p]);
      assert(
        same || got.every((v, p) => v === mirror[p]),
        `example ${j} neither kept nor mirrored`,
      );
      if (!same) mirrored++;
    });
  }
  assert(mirrored > 5 && mirrored < 35, `${mirrored} of 40 mirrored`);
});

Deno.test("prepare_data flags: with or without a literal --", () => {
  const a = parsePrepareArgs(["--", "--cache", "/tmp/x", "--embed"], "d");
  const b = parsePrepareArgs(["--cache=/tmp/x", "--embed"], "d");
  assertEquals(a, b);
  assertEquals(a.cache, "/tmp/x");
  assertEquals(parsePrepareArgs([], "d").cache, "d");
  assertThrows(() => parsePrepareArgs(["--nope"], "d"), Error, "unknown flag");
});
