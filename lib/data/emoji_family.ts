/**
 * Emoji families: the rule that puts near-duplicate emoji (gender, direction,
 * hair and colour variants, keycaps, same-template symbols, identical flags)
 * into one family, and the split of families into train and test so that no
 * family straddles the two. Pure functions over plain metadata.
 *
 * The rule, applied to each emoji's code points (`unified`, e.g.
 * `1F3C3-200D-2640-FE0F-200D-27A1-FE0F`):
 * 1. Drop VS16 (`FE0F`) and skin tones (`1F3FB`–`1F3FF`).
 * 2. Keycaps (`20E3`, and 🔟) are one family; so is every emoji of a
 *    same-template subcategory ({@linkcode TEMPLATE_SUBCATEGORIES}: the same
 *    framed box with a different glyph).
 * 3. Flags of regional indicators or tag sequences are a family each (equal
 *    flags are merged by step 9).
 * 4. Split at ZWJ (`200D`); drop the components ♀ `2640`, ♂ `2642` and
 *    ➡ `27A1` (gender signs and "facing right") and hair (`1F9B0`–`1F9B3`);
 *    man, woman and adult are one person, boy, girl and child one child,
 *    older man, older woman and older adult one older person.
 * 5. Sequences of people only (with ❤ `2764`, 💋 `1F48B`, 🤝 `1F91D`) are
 *    the families *kiss*, *couple*, *holding hands* and *family*, together
 *    with their single-code-point forms (💏 💑 👫 👬 👭 👪).
 * 6. A person + ZWJ + object is the role of the object (🧑‍🌾 👨‍🌾 👩‍🌾 are
 *    *farmer*); {@linkcode FAMILY_ALIASES} adds single code points that are
 *    gender or colour variants of another (🎅 🤶 join 🧑‍🎄, 🏳️ joins 🏴).
 * 7. Any other sequence belongs to the family of its first component (🐈‍⬛
 *    with 🐈, 🍋‍🟩 with 🍋, ❤️‍🔥 with ❤️).
 * 8. A single code point's family is its Unicode name without direction,
 *    colour, size, clock and moon-phase words ({@linkcode VARIANT_WORDS}),
 *    as a sorted word set: ⬅️ ➡️ ⬆️ are *arrow, black*; 👍 👎 are *sign,
 *    thumbs*; the coloured hearts are *heart*; the 24 clock faces are one.
 * 9. Families whose pictures are near-duplicates in any style are merged
 *    ({@linkcode nearPairs}, {@linkcode mergeFamilies}): 16×16 thumbnails
 *    within a mean absolute difference of {@linkcode NEAR_DUPLICATE_LEVELS}
 *    grey levels (identical flags such as Norway and Svalbard, 🔈 and 🔉).
 * @module
 */

/** The metadata of one emoji the family rule reads (emoji-datasource fields). */
export interface EmojiMeta {
  /** Code points, hex, `-`-separated (`1F468-200D-1F33E`). */
  unified: string;
  /** Unicode or CLDR name (`MAN FARMER`). */
  name: string;
  /** Unicode emoji category (`People & Body`). */
  category: string;
  /** Unicode emoji subcategory (`person-role`). */
  subcategory: string;
}

/** Subcategories whose emoji share one template (a framed glyph): one family each. */
export const TEMPLATE_SUBCATEGORIES: readonly string[] = [
  "keycap",
  "zodiac",
  "alphanum",
  "gender",
  "religion",
];

/** Words that name a variant of a base emoji (direction, colour, size, clock time, moon phase). */
export const VARIANT_WORDS: ReadonlySet<string> = new Set([
  ..."left right up down upwards downwards leftwards rightwards north south east west".split(" "),
  ..."pointing facing clockwise anticlockwise".split(" "),
  ..."black white red orange yellow green blue purple brown pink grey gray light heavy".split(" "),
  ..."large medium small".split(" "),
  ..."one two three four five six seven eight nine ten eleven twelve thirty oclock".split(" "),
  ..."new full first last quarter waxing waning crescent gibbous ornament".split(" "),
]);

/**
 * Single code points that are gender or colour variants of another emoji:
 * the family of that code point (a number) or a family key (a string).
 */
export const FAMILY_ALIASES: Readonly<Record<number, number | string>> = {
  0x1f385: "role:1F384", // Santa Claus, with mx claus
  0x1f936: "role:1F384", // Mrs. Claus
  0x1f934: 0x1fac5, // prince, with person with crown
  0x1f478: 0x1fac5, // princess
  0x1f57a: "dancer", // man dancing
  0x1f483: "dancer", // woman dancing
  0x1f930: 0x1fac4, // pregnant woman, with pregnant person
  0x1fac3: 0x1fac4, // pregnant man
  0x1f6b9: 0x1f6bb, // mens symbol, with restroom
  0x1f6ba: 0x1f6bb, // womens symbol
  0x1f3f3: 0x1f3f4, // white flag, with black flag
};

const PEOPLE_GROUPS: Readonly<Record<number, string>> = {
  0x1f48f: "kiss",
  0x1f491: "couple",
  0x1f46b: "holding hands",
  0x1f46c: "holding hands",
  0x1f46d: "holding hands",
  0x1f46a: "family",
};

const ADULT = 0x1f9d1, CHILD = 0x1f9d2, OLDER = 0x1f9d3;
const PERSON: Readonly<Record<number, number>> = {
  0x1f468: ADULT,
  0x1f469: ADULT,
  [ADULT]: ADULT,
  0x1f466: CHILD,
  0x1f467: CHILD,
  [CHILD]: CHILD,
  0x1f474: OLDER,
  0x1f475: OLDER,
  [OLDER]: OLDER,
};
const ZWJ = 0x200d, VS16 = 0xfe0f, KEYCAP = 0x20e3, KEYCAP_TEN = 0x1f51f;
const HEART = 0x2764, KISS_MARK = 0x1f48b, HANDSHAKE = 0x1f91d;
const DROPPED_IN_SEQUENCE = new Set([0x2640, 0x2642, 0x27a1]);
const isSkinTone = (c: number) => c >= 0x1f3fb && c <= 0x1f3ff;
const isHair = (c: number) => c >= 0x1f9b0 && c <= 0x1f9b3;
const isRegional = (c: number) => c >= 0x1f1e6 && c <= 0x1f1ff;
const isTag = (c: number) => c >= 0xe0020 && c <= 0xe007f;
const hex = (cs: readonly number[]) => cs.map((c) => c.toString(16).toUpperCase()).join("-");

/** Code points of `unified` (hex, `-`-separated) without VS16 and skin tones. */
export function codePoints(unified: string): number[] {
  return unified.split("-").map((h) => parseInt(h, 16)).filter((c) => c !== VS16 && !isSkinTone(c));
}

/** A Unicode name as its sorted set of words, variant words removed (`nameKey("LEFT-FACING FIST")` is `fist`). */
export function nameKey(name: string): string {
  const words = name.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w && !VARIANT_WORDS.has(w));
  return [...new Set(words)].sort().join(" ");
}

function peopleGroup(parts: readonly number[]): string | undefined {
  const people = parts.filter((c) => PERSON[c] !== undefined).length;
  const links = parts.filter((c) => c === HEART || c === KISS_MARK || c === HANDSHAKE).length;
  if (parts.length < 2 || people + links !== parts.length || people < 2) return undefined;
  if (parts.includes(KISS_MARK)) return "kiss";
  if (parts.includes(HEART)) return "couple";
  if (parts.includes(HANDSHAKE)) return "holding hands";
  return "family";
}

/**
 * The family key of every emoji of `entries` (same order), by the rule in
 * this module's documentation. Pure: the result depends only on `entries`
 * (single code points are named from the entry that is that code point alone).
 */
export function familyKeys(entries: readonly EmojiMeta[]): string[] {
  const names = new Map<number, string>();
  for (const e of entries) {
    const cs = codePoints(e.unified);
    if (cs.length === 1) names.set(cs[0], e.name);
  }
  const single = (c: number): string => {
    const alias = FAMILY_ALIASES[c];
    if (typeof alias === "string") return alias;
    const p = alias ?? PERSON[c] ?? c;
    if (PEOPLE_GROUPS[p]) return PEOPLE_GROUPS[p];
    const name = names.get(p);
    return name === undefined ? `cp:${hex([p])}` : `name:${nameKey(name)}`;
  };
  return entries.map((e) => {
    const cs = codePoints(e.unified);
    if (cs.includes(KEYCAP) || cs.includes(KEYCAP_TEN)) return "keycap";
    if (TEMPLATE_SUBCATEGORIES.includes(e.subcategory)) return `template:${e.subcategory}`;
    if (cs.length === 2 && cs.every(isRegional)) return `flag:${hex(cs)}`;
    if (cs.length > 2 && cs.slice(1).every(isTag)) return `flag:${hex(cs)}`;
    const parts: number[] = [];
    let first = true;
    for (const c of cs) {
      if (c === ZWJ) continue;
      if (cs.length > 1 && (DROPPED_IN_SEQUENCE.has(c) || (!first && isHair(c)))) continue;
      parts.push(PERSON[c] ?? c);
      first = false;
    }
    if (parts.length === 0) return `cp:${hex(cs)}`;
    const group = peopleGroup(parts);
    if (group) return group;
    if (parts.length > 1 && PERSON[parts[0]] !== undefined) return `role:${hex(parts.slice(1))}`;
    return single(parts[0]);
  });
}

/**
 * Families after merging: `keys[i]` and `keys[j]` end in one family for every
 * pair `[i, j]` of `same` (e.g. emoji whose images are identical), and with
 * every other emoji of either family. Each merged family takes the smallest
 * of its keys.
 */
export function mergeFamilies(
  keys: readonly string[],
  same: readonly (readonly [number, number])[],
): string[] {
  const parent = new Map<string, string>(keys.map((k) => [k, k]));
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const [i, j] of same) {
    const a = find(keys[i]), b = find(keys[j]);
    if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
  }
  return keys.map(find);
}

/** Largest mean absolute difference (0–255) of two thumbnails that makes them near-duplicates. */
export const NEAR_DUPLICATE_LEVELS = 2;

/** Side of the thumbnails {@linkcode nearPairs} compares. */
export const THUMB_SIZE = 16;

/**
 * A `[c, h, w]` uint8 image as a `c`×16×16 thumbnail: the mean of each
 * (h/16)×(w/16) block (h and w multiples of 16).
 */
export function thumbnail(image: Uint8Array, c: number, h: number, w: number): Float32Array {
  const t = THUMB_SIZE, by = h / t, bx = w / t, out = new Float32Array(c * t * t);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(k * t + Math.floor(y / by)) * t + Math.floor(x / bx)] += image[(k * h + y) * w + x];
      }
    }
  }
  return out.map((v) => v / (by * bx));
}

/**
 * Pairs `[i, j]` (i < j) of thumbnails whose mean absolute difference is at
 * most `threshold` (grey levels of 0–255): near-duplicate pictures.
 */
export function nearPairs(thumbs: readonly Float32Array[], threshold: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < thumbs.length; i++) {
    const a = thumbs[i], limit = threshold * a.length;
    for (let j = i + 1; j < thumbs.length; j++) {
      const b = thumbs[j];
      let sum = 0;
      for (let p = 0; p < a.length && sum <= limit; p++) sum += Math.abs(a[p] - b[p]);
      if (sum <= limit) out.push([i, j]);
    }
  }
  return out;
}

function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return (h ^ (h >>> 12)) >>> 0;
}

/**
 * Which split each emoji goes to: whole families, drawn per category (a
 * family counts for the category of its first emoji) in an order fixed by
 * `seed` until the category's test share reaches `testFraction` of its
 * emoji. Returns `"train"` or `"test"` per entry of `families`.
 */
export function splitByFamily(
  families: readonly string[],
  categories: readonly string[],
  testFraction: number,
  seed: number,
): ("train" | "test")[] {
  const size = new Map<string, number>(), categoryOf = new Map<string, string>();
  families.forEach((f, i) => {
    size.set(f, (size.get(f) ?? 0) + 1);
    if (!categoryOf.has(f)) categoryOf.set(f, categories[i]);
  });
  const total = new Map<string, number>();
  for (const [f, n] of size) {
    const c = categoryOf.get(f)!;
    total.set(c, (total.get(c) ?? 0) + n);
  }
  const order = [...size.keys()].sort((a, b) =>
    hash32(a, seed) - hash32(b, seed) || (a < b ? -1 : 1)
  );
  const taken = new Map<string, number>(), test = new Set<string>();
  for (const f of order) {
    const c = categoryOf.get(f)!, have = taken.get(c) ?? 0;
    if (have < testFraction * total.get(c)!) {
      test.add(f);
      taken.set(c, have + size.get(f)!);
    }
  }
  return families.map((f) => (test.has(f) ? "test" : "train"));
}
