/**
 * The emoji-category domains: the family rule and the family split, PNG
 * decoding and compositing, the committed subset and its checksums.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encode } from "fast-png";
import { checkDataset, classCounts, subset } from "../lib/data/dataset.ts";
import { domainInfo, loadDomainFrom } from "../lib/data/domains.ts";
import { EMOJI_CATEGORIES, EMOJI_DOMAINS, EMOJI_STYLES } from "../lib/data/emoji.ts";
import {
  type EmojiMeta,
  familyKeys,
  mergeFamilies,
  nameKey,
  nearPairs,
  splitByFamily,
  thumbnail,
} from "../lib/data/emoji_family.ts";
import { loadEmbedded } from "../lib/data/embedded.ts";
import { ChecksumError, DataError } from "../lib/data/errors.ts";
import { dataDirFromPath, readManifest, readVerified } from "../lib/data/manifest.ts";
import { splitValidation } from "../lib/data/split.ts";
import { holdOutGroups } from "../lib/data/split_groups.ts";
import { mulberry32, permutation } from "../lib/rng.ts";
import {
  compositeOnWhite,
  decodeEmojiPng,
  EMOJI_EMBED_PER_CLASS,
  type EmojiRecord,
  parseEmojiJson,
  toRgba,
} from "../scripts/prepare_emoji.ts";

const assertEquals = (a: unknown, b: unknown, msg?: string) => assert.deepStrictEqual(a, b, msg);

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

function check<E extends Error>(e: unknown, cls: ErrorClass<E>, includes: string): E {
  assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
  assert(e.message.includes(includes), `"${e.message}" lacks "${includes}"`);
  return e;
}

function assertThrows<E extends Error>(f: () => unknown, cls: ErrorClass<E>, includes = ""): E {
  try {
    f();
  } catch (e) {
    return check(e, cls, includes);
  }
  throw new assert.AssertionError({ message: `expected ${cls.name} to be thrown` });
}

async function assertRejects<E extends Error>(
  f: () => Promise<unknown>,
  cls: ErrorClass<E>,
  includes = "",
): Promise<E> {
  try {
    await f();
  } catch (e) {
    return check(e, cls, includes);
  }
  throw new assert.AssertionError({ message: `expected ${cls.name} to be rejected` });
}

const EMBEDDED = new URL("../data/embedded/", import.meta.url).pathname;
const META: EmojiMeta[] = (JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/emoji/emoji-meta.json", import.meta.url)),
) as string[][]).map(([unified, name, category, subcategory]) => ({
  unified,
  name,
  category,
  subcategory,
}));
const KEYS = familyKeys(META);
const familyOf = (unified: string) => KEYS[META.findIndex((e) => e.unified === unified)];

Deno.test("emoji families: variants of one base emoji share a family", () => {
  const same = [
    // person / man / woman running, facing right or not
    [
      "1F3C3",
      "1F3C3-200D-2642-FE0F",
      "1F3C3-200D-2640-FE0F-200D-27A1-FE0F",
      "1F3C3-200D-27A1-FE0F",
    ],
    // farmer, man farmer, woman farmer
    ["1F9D1-200D-1F33E", "1F468-200D-1F33E", "1F469-200D-1F33E"],
    // keycaps # 0 9 and 🔟
    ["0023-FE0F-20E3", "0030-FE0F-20E3", "0039-FE0F-20E3", "1F51F"],
    // adult, man, woman with red hair
    ["1F9D1", "1F468", "1F469-200D-1F9B0"],
    // left, right, up arrows
    ["2B05-FE0F", "27A1-FE0F", "2B06-FE0F"],
    // thumbs up and down
    ["1F44D", "1F44E"],
    // red, blue and black hearts, heart on fire
    ["2764-FE0F", "1F499", "1F5A4", "2764-FE0F-200D-1F525"],
    // cat and black cat; lemon and lime
    ["1F408", "1F408-200D-2B1B"],
    ["1F34B", "1F34B-200D-1F7E9"],
    // families and couples
    ["1F46A", "1F468-200D-1F469-200D-1F466", "1F9D1-200D-1F9D1-200D-1F9D2"],
    ["1F48F", "1F469-200D-2764-FE0F-200D-1F48B-200D-1F468"],
    ["1F46B", "1F46C", "1F9D1-200D-1F91D-200D-1F9D1"],
    // Santa, Mrs. Claus, mx claus; clock faces; white, black and rainbow flags
    ["1F385", "1F936", "1F9D1-200D-1F384"],
    ["1F550", "1F567"],
    ["1F3F3-FE0F", "1F3F4", "1F3F3-FE0F-200D-1F308"],
  ];
  for (const group of same) {
    const keys = group.map(familyOf);
    assert(keys.every((k) => k !== undefined), `${group} in the fixture`);
    assertEquals(new Set(keys).size, 1, `${group}: ${keys}`);
  }
  const distinct = ["1F415", "1F408", "1F1EB-1F1F7", "1F1E9-1F1EA", "1F600", "1F9D1-200D-1F33E"];
  assertEquals(new Set(distinct.map(familyOf)).size, distinct.length);
  assertEquals(nameKey("LEFT-FACING FIST"), nameKey("RIGHT-FACING FIST"));
});

Deno.test("emoji families: every MAN/WOMAN form of a name joins its PERSON form", () => {
  const byName = new Map(META.map((e, i) => [e.name, KEYS[i]]));
  let checked = 0;
  for (const [i, e] of META.entries()) {
    const m = /^(MAN|WOMAN) (.+)$/.exec(e.name);
    const base = m && (byName.get(`PERSON ${m[2]}`) ?? byName.get(m[2]));
    if (!base) continue;
    assertEquals(KEYS[i], base, e.name);
    checked++;
  }
  assert(checked > 80, `${checked} gendered names checked`);
  assert(new Set(KEYS).size > 1400 && new Set(KEYS).size < 1700, `${new Set(KEYS).size} families`);
});

Deno.test("emoji split: every family lands in exactly one split, each category near its share", () => {
  const gen = fc.record({
    members: fc.array(fc.tuple(fc.nat(40), fc.nat(3)), { minLength: 1, maxLength: 300 }),
    fraction: fc.double({ min: 0.05, max: 0.6, noNaN: true }),
    seed: fc.integer(),
  });
  fc.assert(fc.property(gen, ({ members, fraction, seed }) => {
    // the category of a family is the category of its first member
    const firstCat = new Map<number, number>();
    for (const [f, c] of members) if (!firstCat.has(f)) firstCat.set(f, c);
    const families = members.map(([f]) => `f${f}`);
    const categories = members.map(([f]) => `c${firstCat.get(f)}`);
    const splits = splitByFamily(families, categories, fraction, seed);
    assertEquals(splits, splitByFamily(families, categories, fraction, seed));
    const seen = new Map<string, string>();
    families.forEach((f, i) => {
      assertEquals(seen.get(f) ?? splits[i], splits[i], `family ${f} in both splits`);
      seen.set(f, splits[i]);
    });
    for (const c of new Set(categories)) {
      const idx = categories.flatMap((x, i) => (x === c ? [i] : []));
      const test = idx.filter((i) => splits[i] === "test").length;
      const largest = Math.max(...idx.map((i) => families.filter((f) => f === families[i]).length));
      assert(test >= fraction * idx.length, `${c}: ${test} of ${idx.length} in test`);
      assert(test < fraction * idx.length + largest, `${c}: ${test} of ${idx.length} overshoots`);
    }
  }));
});

Deno.test("emoji split: on the real emoji list no family is in both splits", () => {
  const splits = splitByFamily(KEYS, META.map((e) => e.category), 0.2, 17);
  const where = new Map<string, Set<string>>();
  KEYS.forEach((k, i) => where.set(k, (where.get(k) ?? new Set()).add(splits[i])));
  assert([...where.values()].every((s) => s.size === 1));
  for (const c of EMOJI_CATEGORIES) {
    const n = META.filter((e) => e.category === c).length;
    const t = META.filter((e, i) => e.category === c && splits[i] === "test").length;
    // a family counts for the category of its first emoji: a few cross categories
    assert(t > 0.18 * n && t < 0.2 * n + 31, `${c}: ${t} of ${n}`);
  }
});

Deno.test("mergeFamilies: paired keys end in one family, transitively; others keep theirs", () => {
  fc.assert(fc.property(
    fc.array(fc.nat(12), { minLength: 1, maxLength: 40 }).chain((ks) =>
      fc.tuple(
        fc.constant(ks.map((k) => `k${k}`)),
        fc.array(fc.tuple(fc.nat(ks.length - 1), fc.nat(ks.length - 1)), { maxLength: 10 }),
      )
    ),
    ([keys, pairs]) => {
      const merged = mergeFamilies(keys, pairs);
      for (const [i, j] of pairs) assertEquals(merged[i], merged[j]);
      keys.forEach((k, i) => keys.forEach((l, j) => k === l && assertEquals(merged[i], merged[j])));
      const touched = new Set(pairs.flat().map((i) => keys[i]));
      keys.forEach((k, i) => {
        if (!touched.has(k)) assertEquals(merged[i], k);
        else assert(merged[i] <= k);
      });
    },
  ));
});

Deno.test("nearPairs: thumbnails within the threshold pair up, others do not", () => {
  const img = (v: number) => new Uint8Array(3 * 64 * 64).fill(v);
  const a = img(200), b = img(201), c = img(230);
  b[0] = 255; // one pixel of 12,288 moves a block mean by 54/16 ≈ 3.4 in one of 768 cells
  const th = [a, b, c].map((x) => thumbnail(x, 3, 64, 64));
  assertEquals(th[0].length, 3 * 16 * 16);
  assertEquals(th[0][5], 200);
  assertEquals(nearPairs(th, 2), [[0, 1]]);
  assertEquals(nearPairs(th, 0.5), []);
  assertEquals(nearPairs(th, 30), [[0, 1], [0, 2], [1, 2]]);
});

Deno.test("emoji PNG: composited on white, palettes unpacked, bad files are DataError", () => {
  // opaque red, transparent (any colour), half-transparent black
  const rgba = new Uint8Array([255, 0, 0, 255, 12, 34, 56, 0, 0, 0, 0, 128]);
  assertEquals(Array.from(compositeOnWhite(rgba, 3, 1)), [255, 255, 127, 0, 255, 127, 0, 255, 127]);
  // 4-bit palette: indices 1, 0, 2 packed two per byte (row padded)
  const palette = [[0, 0, 0, 0], [10, 20, 30, 255], [40, 50, 60]];
  const unpacked = toRgba(
    { width: 3, height: 1, depth: 4, channels: 1, data: [0x10, 0x20], palette },
    "p.png",
  );
  assertEquals(Array.from(unpacked), [10, 20, 30, 255, 0, 0, 0, 0, 40, 50, 60, 255]);
  const pixels = new Uint8Array(64 * 64 * 4).map((_, i) => (i % 4 === 3 ? (i * 7) % 256 : i % 251));
  const png = encode({ width: 64, height: 64, data: pixels, channels: 4, depth: 8 });
  assertEquals(decodeEmojiPng(png, "x.png"), compositeOnWhite(pixels, 64, 64));
  const small = encode({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 4), channels: 4 });
  assertThrows(() => decodeEmojiPng(small, "small.png"), DataError, "32×32");
  assertThrows(() => decodeEmojiPng(png.subarray(0, 40), "cut.png"), DataError, "cut.png");
});

Deno.test("emoji.json: Component left out, Unicode order, unknown categories refused", () => {
  const e = (unified: string, category: string, sort_order: number) => ({
    unified,
    name: unified,
    category,
    subcategory: "x",
    image: `${unified.toLowerCase()}.png`,
    sort_order,
  });
  const text = JSON.stringify([e("1F600", "Smileys & Emotion", 2), e("1F3FB", "Component", 0), {
    ...e("1F415", "Animals & Nature", 1),
    extra: true,
  }]);
  assertEquals(parseEmojiJson(text, "e.json").map((x) => x.unified), ["1F415", "1F600"]);
  assertThrows(
    () => parseEmojiJson(JSON.stringify([e("1F600", "Emoji", 0)]), "e.json"),
    DataError,
    "unknown category",
  );
  assertThrows(() => parseEmojiJson("[{}]", "e.json"), DataError, "e.json");
});

Deno.test("embedded emoji: registered, 9 categories, 3×32×32 from 3×64×64 by a 2×2 mean", async () => {
  for (const style of EMOJI_STYLES) {
    const info = domainInfo(style.domain);
    assertEquals(info.role, "target");
    assertEquals(info.classes, EMOJI_CATEGORIES);
    assert(info.provenance.includes(style.npm) && info.licence.includes(style.licence));
    const raw = await loadEmbedded(style.domain, { canonical: false });
    const canon = await loadEmbedded(style.domain);
    const per = EMOJI_EMBED_PER_CLASS;
    for (const [split, perClass] of [["train", per.train], ["test", per.test]] as const) {
      const r = raw[split], c = canon[split];
      assertEquals(r.shape, [3, 64, 64]);
      assertEquals(c.shape, [3, 32, 32]);
      assertEquals(c.classes, EMOJI_CATEGORIES);
      assertEquals(classCounts(c), new Array(9).fill(perClass));
      assertEquals(Array.from(c.labels), Array.from(r.labels));
      for (const [i, k, y, x] of [[0, 0, 0, 0], [3, 1, 17, 9], [r.labels.length - 1, 2, 31, 31]]) {
        const at = (yy: number, xx: number) => r.images[((i * 3 + k) * 64 + yy) * 64 + xx];
        const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) +
          at(2 * y + 1, 2 * x + 1)) / 4;
        assertEquals(c.images[((i * 3 + k) * 32 + y) * 32 + x], Math.round(mean));
      }
      const mean = c.images.reduce((s, v) => s + v, 0) / c.images.length;
      assert(mean > 120 && mean < 250, `${style.domain} ${split}: mean ${mean} (white background)`);
    }
  }
});

Deno.test("embedded emoji: train and test families are disjoint, same emoji in every style", async () => {
  const dir = dataDirFromPath(EMBEDDED);
  const manifest = await readManifest(dir);
  const read = async (domain: string, split: string) =>
    JSON.parse(
      new TextDecoder().decode(
        await readVerified(dir, manifest, `${domain}/${split}-emoji.json`),
      ),
    ) as EmojiRecord[];
  const first = await read(EMOJI_DOMAINS[0], "train");
  for (const domain of EMOJI_DOMAINS) {
    const train = await read(domain, "train"), test = await read(domain, "test");
    const { train: ds } = await loadEmbedded(domain, { canonical: false });
    assertEquals(train.map((r) => EMOJI_CATEGORIES.indexOf(r.category)), Array.from(ds.labels));
    const trainFamilies = new Set(train.map((r) => r.family));
    assert(test.every((r) => !trainFamilies.has(r.family)), `${domain}: a family in both splits`);
    assertEquals(train.map((r) => r.unified), first.map((r) => r.unified));
    const text = new TextDecoder().decode(
      await readVerified(dir, manifest, `${domain}/ATTRIBUTION.md`),
    );
    const style = EMOJI_STYLES.find((s) => s.domain === domain)!;
    assert(text.includes(style.attribution) && text.includes("Cal Henderson"));
  }
});

Deno.test("embedded emoji: a corrupted file is a ChecksumError naming it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "da3-emoji-" });
  try {
    const manifest = await readManifest(dataDirFromPath(EMBEDDED));
    await Deno.copyFile(`${EMBEDDED}/manifest.json`, `${tmp}/manifest.json`);
    for (const rel of Object.keys(manifest.files).filter((f) => f.startsWith("emoji-google/"))) {
      await Deno.mkdir(`${tmp}/emoji-google`, { recursive: true });
      await Deno.copyFile(`${EMBEDDED}/${rel}`, `${tmp}/${rel}`);
    }
    const dir = dataDirFromPath(tmp);
    assertEquals((await loadDomainFrom(dir, "emoji-google")).test.labels.length, 36);
    const file = `${tmp}/emoji-google/test-images.idx.gz`;
    const bytes = await Deno.readFile(file);
    bytes[bytes.length >> 1] ^= 0x5a;
    await Deno.writeFile(file, bytes);
    const e = await assertRejects(() => loadDomainFrom(dir, "emoji-google"), ChecksumError);
    assert(e.file.endsWith("emoji-google/test-images.idx.gz"), e.file);
    await Deno.remove(`${tmp}/emoji-google/train-labels.idx.gz`);
    await assertRejects(() => loadDomainFrom(dir, "emoji-google"), DataError, "missing");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("embedded emoji: family ids arrive as groups, one per family, none in both splits", async () => {
  for (const domain of EMOJI_DOMAINS) {
    const { train, test } = await loadEmbedded(domain);
    const dir = dataDirFromPath(EMBEDDED);
    const manifest = await readManifest(dir);
    const records = JSON.parse(
      new TextDecoder().decode(await readVerified(dir, manifest, `${domain}/train-emoji.json`)),
    ) as EmojiRecord[];
    assert(train.groups && test.groups, `${domain} has groups`);
    assertEquals(train.groups.length, train.labels.length);
    const idOf = new Map<string, number>();
    records.forEach((r, i) => {
      assertEquals(idOf.get(r.family) ?? train.groups![i], train.groups![i], r.family);
      idOf.set(r.family, train.groups![i]);
    });
    assertEquals(new Set(idOf.values()).size, idOf.size, "one id per family");
    const trainIds = new Set(train.groups);
    assert(Array.from(test.groups).every((g) => !trainIds.has(g)));
    const picked = subset(train, [5, 2]);
    assertEquals(Array.from(picked.groups!), [train.groups[5], train.groups[2]]);
    assertThrows(
      () => checkDataset({ ...train, groups: train.groups!.subarray(1) }),
      DataError,
      "group ids",
    );
  }
});

Deno.test("holdOutGroups: each group whole on one side; disjoint, covering, one left to train", () => {
  const gen = fc.record({
    members: fc.array(fc.tuple(fc.nat(3), fc.nat(15)), { minLength: 2, maxLength: 120 }),
    share: fc.double({ min: 0, max: 0.9, noNaN: true }),
    seed: fc.integer(),
  });
  fc.assert(fc.property(gen, ({ members, share, seed }) => {
    const labels = Uint8Array.from(members, ([l]) => l);
    const groups = Uint32Array.from(members, ([, g]) => g);
    const counts = [0, 1, 2, 3].map((k) => labels.filter((l) => l === k).length);
    const quotas = counts.map((c) => Math.floor(c * share));
    const order = permutation(labels.length, mulberry32(seed));
    const { train, validation } = holdOutGroups(labels, groups, quotas, order);
    const all = [...train, ...validation].sort((a, b) => a - b);
    assertEquals(all, [...labels.keys()]);
    assert(train.length >= 1);
    const side = new Map<number, boolean>();
    const held = new Set(validation);
    groups.forEach((g, i) => {
      assertEquals(side.get(g) ?? held.has(i), held.has(i), `group ${g} split`);
      side.set(g, held.has(i));
    });
    assertEquals(Array.from(train), [...train].sort((a, b) => a - b));
  }));
});

Deno.test("splitValidation: the emoji training set is carved by family", async () => {
  const { train } = await loadEmbedded("emoji-twitter");
  for (const seed of [1, 2, 3]) {
    const { train: fit, validation } = splitValidation(train, 0.2, seed);
    assertEquals(fit.labels.length + validation.labels.length, train.labels.length);
    assert(validation.labels.length >= 18, `${validation.labels.length} held out`);
    const fitIds = new Set(fit.groups);
    assert(Array.from(validation.groups!).every((g) => !fitIds.has(g)), `seed ${seed}`);
  }
});
