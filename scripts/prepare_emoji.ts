/**
 * The emoji-category domains (one per art style, see lib/data/emoji.ts):
 * fetched with `npm pack` (pinned versions) into the cache's `src/`, the
 * 64×64 PNGs decoded with fast-png, composited on white and stored as
 * 3×64×64 planar RGB, split into train and test by emoji family
 * (lib/data/emoji_family.ts), with per-example metadata and the licence and
 * attribution files, all listed with their SHA-256 in the directory's
 * manifest (merged: the other domains' entries are kept).
 *
 * `deno task data` runs it after the other domains; alone:
 *   deno run -A scripts/prepare_emoji.ts [--cache DIR] [--embed] [--embed-dir DIR] [--force]
 * @module
 */
import { decode } from "fast-png";
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, InputError, runCli } from "../lib/cli/run.ts";
import { defaultCacheDir } from "../lib/data/cache.ts";
import { sha256Hex } from "../lib/data/checksum.ts";
import { balancedIndices, classCounts, type Dataset, subset } from "../lib/data/dataset.ts";
import { domainFiles, groupsFile, loadDomainFrom } from "../lib/data/domains.ts";
import {
  EMOJI_CATEGORIES,
  EMOJI_METADATA_LICENCE,
  EMOJI_SPLIT_SEED,
  EMOJI_STYLES,
  EMOJI_TEST_FRACTION,
  type EmojiStyle,
} from "../lib/data/emoji.ts";
import {
  type EmojiMeta,
  familyKeys,
  mergeFamilies,
  NEAR_DUPLICATE_LEVELS,
  nearPairs,
  splitByFamily,
  thumbnail,
} from "../lib/data/emoji_family.ts";
import { DataError } from "../lib/data/errors.ts";
import { encodeIdx, gzip } from "../lib/data/idx.ts";
import {
  dataDirFromPath,
  type Manifest,
  MANIFEST_FILE,
  parseManifest,
  readManifest,
  readVerified,
} from "../lib/data/manifest.ts";

/** Side of the stored emoji images (the packages' PNG size; no resampling). */
export const EMOJI_SIZE = 64;
/** Emoji per category in the embedded subset (train, test), at most. */
export const EMOJI_EMBED_PER_CLASS = { train: 10, test: 4 } as const;
/** Seed of the embedded subset's selection. */
export const EMOJI_EMBED_SEED = 20260601;

/** One emoji of `emoji.json` (the fields da3 reads). */
export interface EmojiEntry extends EmojiMeta {
  /** PNG file name in the style's image folder. */
  image: string;
  /** Position in Unicode's emoji order. */
  sort_order: number;
}

const entrySchema = z.object({
  unified: z.string().regex(/^[0-9A-F]{4,6}(-[0-9A-F]{4,6})*$/),
  name: z.string(),
  category: z.string(),
  subcategory: z.string(),
  image: z.string().regex(/^[0-9a-f-]+\.png$/),
  sort_order: z.number().int(),
});

/** Parses `emoji.json`: the emoji of the nine categories, in Unicode order (Component left out). */
export function parseEmojiJson(text: string, file: string): EmojiEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `not JSON (${(e as Error).message})`);
  }
  const r = z.array(entrySchema.passthrough()).safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DataError(file, `not an emoji list: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const kept = r.data.filter((e) => e.category !== "Component");
  for (const e of kept) {
    if (!EMOJI_CATEGORIES.includes(e.category)) {
      throw new DataError(file, `emoji ${e.unified}: unknown category "${e.category}"`);
    }
  }
  return kept.map((e) => ({
    unified: e.unified,
    name: e.name,
    category: e.category,
    subcategory: e.subcategory,
    image: e.image,
    sort_order: e.sort_order,
  })).sort((a, b) => a.sort_order - b.sort_order);
}

/** A decoded PNG as fast-png returns it (the fields read here). */
export interface DecodedImage {
  width: number;
  height: number;
  depth: number;
  channels: number;
  data: ArrayLike<number>;
  palette?: number[][];
}

/** 8-bit RGBA pixels of a decoded PNG (gray, gray+alpha, RGB, RGBA, palette; depth 1–16). */
export function toRgba(png: DecodedImage, file: string): Uint8Array {
  const { width: w, height: h, depth, channels, data, palette } = png;
  const out = new Uint8Array(w * h * 4);
  if (palette) {
    if (channels !== 1 || ![1, 2, 4, 8].includes(depth)) {
      throw new DataError(file, `palette PNG with ${channels} channels at depth ${depth}`);
    }
    const perByte = 8 / depth, rowBytes = Math.ceil(w / perByte), mask = (1 << depth) - 1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const byte = data[y * rowBytes + Math.floor(x / perByte)];
        const index = (byte >> (8 - depth * (1 + (x % perByte)))) & mask;
        const c = palette[index];
        if (!c) throw new DataError(file, `palette index ${index} of ${palette.length}`);
        out.set([c[0], c[1], c[2], c[3] ?? 255], (y * w + x) * 4);
      }
    }
    return out;
  }
  if (depth !== 8 && depth !== 16) throw new DataError(file, `unsupported bit depth ${depth}`);
  if (channels < 1 || channels > 4) throw new DataError(file, `unsupported ${channels} channels`);
  if (data.length !== w * h * channels) {
    throw new DataError(file, `${data.length} samples for ${w}×${h}×${channels}`);
  }
  const scale = depth === 16 ? 1 / 257 : 1;
  for (let p = 0; p < w * h; p++) {
    const v = (k: number) => Math.round(data[p * channels + k] * scale);
    const gray = channels <= 2;
    const [r, g, b] = gray ? [v(0), v(0), v(0)] : [v(0), v(1), v(2)];
    const a = channels === 2 ? v(1) : channels === 4 ? v(3) : 255;
    out.set([r, g, b, a], p * 4);
  }
  return out;
}

/** RGBA pixels composited on white, as planar RGB (`[3, h, w]`): c·α + 255·(1 − α), rounded. */
export function compositeOnWhite(rgba: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h, out = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    const a = rgba[p * 4 + 3];
    for (let k = 0; k < 3; k++) {
      out[k * n + p] = Math.round((rgba[p * 4 + k] * a + 255 * (255 - a)) / 255);
    }
  }
  return out;
}

/** Decodes one emoji PNG to planar RGB on white, `[3, 64, 64]`; throws DataError naming the file. */
export function decodeEmojiPng(bytes: Uint8Array, file: string): Uint8Array {
  let png: DecodedImage;
  try {
    png = decode(bytes, { checkCrc: true }) as DecodedImage;
  } catch (e) {
    throw new DataError(file, `not a valid PNG (${(e as Error).message})`);
  }
  if (png.width !== EMOJI_SIZE || png.height !== EMOJI_SIZE) {
    throw new DataError(
      file,
      `${png.width}×${png.height} PNG, expected ${EMOJI_SIZE}×${EMOJI_SIZE}`,
    );
  }
  return compositeOnWhite(toRgba(png, file), EMOJI_SIZE, EMOJI_SIZE);
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new InputError(`${cmd} ${args.join(" ")}`, `failed (exit ${out.code}):\n${err}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The style's package in `src` (fetched with `npm pack` when absent, unpacked); returns its folder. */
async function fetchStyle(style: EmojiStyle, src: string): Promise<{ dir: string; sha: string }> {
  const [name, version] = style.npm.split("@");
  const tgz = `${src}/${name}-${version}.tgz`, dir = `${src}/${name}-${version}`;
  if (!(await exists(tgz))) await run("npm", ["pack", style.npm, "--pack-destination", "."], src);
  if (!(await exists(`${dir}/package/emoji.json`))) {
    await Deno.mkdir(dir, { recursive: true });
    const parts = ["emoji.json", "LICENSE", style.imageDir].map((p) => `package/${p}`);
    await run("tar", ["-xzf", tgz, "-C", dir, ...parts], src);
  }
  return { dir: `${dir}/package`, sha: await sha256Hex(await Deno.readFile(tgz)) };
}

/** One style's emoji decoded: entries (shared order) and their `[3, 64, 64]` images. */
interface StyleImages {
  style: EmojiStyle;
  sha: string;
  licence: string;
  images: Uint8Array[];
}

/** Per-example metadata written beside the images (`<domain>/<split>-emoji.json`). */
export interface EmojiRecord {
  /** Code points. */
  unified: string;
  /** Name. */
  name: string;
  /** Category (the label's name). */
  category: string;
  /** Family key. */
  family: string;
}

/** The families of `entries`, merged where any style draws two emoji as near-duplicates. */
export function emojiFamilies(
  entries: readonly EmojiMeta[],
  styles: readonly { images: readonly Uint8Array[] }[],
): string[] {
  const same = styles.flatMap((s) =>
    nearPairs(s.images.map((im) => thumbnail(im, 3, EMOJI_SIZE, EMOJI_SIZE)), NEAR_DUPLICATE_LEVELS)
  );
  return mergeFamilies(familyKeys(entries), same);
}

function datasetOf(
  style: StyleImages,
  entries: readonly EmojiEntry[],
  groupIds: readonly number[],
  indices: readonly number[],
  split: string,
): Dataset {
  const size = 3 * EMOJI_SIZE * EMOJI_SIZE, images = new Uint8Array(indices.length * size);
  indices.forEach((i, k) => images.set(style.images[i], k * size));
  return {
    groups: Uint32Array.from(indices, (i) => groupIds[i]),
    name: style.style.domain,
    classes: EMOJI_CATEGORIES,
    images,
    labels: Uint8Array.from(indices, (i) => EMOJI_CATEGORIES.indexOf(entries[i].category)),
    shape: [3, EMOJI_SIZE, EMOJI_SIZE],
    source: `npm ${style.style.npm} (${style.style.imageDir}, tarball sha256 ${style.sha}), ` +
      `composited on white; ${split} split by emoji family`,
  };
}

/** The attribution file of a style's domain folder. */
export function attributionText(style: EmojiStyle, metadataLicence: string): string {
  return [
    `# ${style.domain}: attribution and licences`,
    "",
    `Images: ${style.artwork}.`,
    style.attribution,
    "",
    "Changes: every 64×64 PNG is composited on white and stored as planar RGB arrays; da3 " +
    "may downsample them (2×2 mean) when it loads them.",
    "",
    `Metadata (names, categories): emoji.json of ${style.npm}, ${EMOJI_METADATA_LICENCE}:`,
    "",
    metadataLicence.trim(),
    "",
  ].join("\n");
}

/** Writes files and domains of a data directory, to be merged into its manifest. */
class EmojiWriter {
  readonly files: Manifest["files"] = {};
  readonly domains: Manifest["domains"] = {};
  constructor(readonly root: string) {}

  async write(rel: string, bytes: Uint8Array): Promise<void> {
    await Deno.mkdir(`${this.root}/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeFile(`${this.root}/${rel}`, bytes);
    this.files[rel] = { sha256: await sha256Hex(bytes), bytes: bytes.length };
  }

  async writeSplit(ds: Dataset, split: "train" | "test", records: EmojiRecord[]): Promise<void> {
    const [imagesFile, labelsFile] = domainFiles(ds.name, split);
    const n = ds.labels.length;
    await this.write(imagesFile, await gzip(encodeIdx([n, ...ds.shape], ds.images)));
    await this.write(labelsFile, await gzip(encodeIdx([n], ds.labels)));
    const json = JSON.stringify(records, null, 1) + "\n";
    await this.write(`${ds.name}/${split}-emoji.json`, new TextEncoder().encode(json));
    if (!ds.groups) throw new DataError(ds.name, "emoji examples without family ids");
    const groups = JSON.stringify(Array.from(ds.groups)) + "\n";
    await this.write(groupsFile(ds.name, split), new TextEncoder().encode(groups));
  }

  async writeDomain(
    splits: Record<"train" | "test", { ds: Dataset; records: EmojiRecord[] }>,
    attribution: string,
  ): Promise<void> {
    const { train, test } = splits;
    await this.writeSplit(train.ds, "train", train.records);
    await this.writeSplit(test.ds, "test", test.records);
    await this.write(`${train.ds.name}/ATTRIBUTION.md`, new TextEncoder().encode(attribution));
    this.domains[train.ds.name] = {
      train: train.ds.labels.length,
      test: test.ds.labels.length,
      shape: [...train.ds.shape],
      classes: [...EMOJI_CATEGORIES],
      source: train.ds.source,
    };
  }

  /** Merges into `root`'s manifest (created when absent): emoji entries replaced, others kept. */
  async mergeManifest(kind: Manifest["kind"], notes: Record<string, string>): Promise<Manifest> {
    const path = `${this.root}/${MANIFEST_FILE}`;
    const old: Manifest = await exists(path)
      ? parseManifest(await Deno.readTextFile(path), path)
      : {
        format: "da3-data/1",
        kind,
        createdBy: "scripts/prepare_data.ts",
        files: {},
        domains: {},
      };
    const mine = (rel: string) => EMOJI_STYLES.some((s) => rel.startsWith(`${s.domain}/`));
    const files = Object.entries(old.files).filter(([rel]) => !mine(rel));
    const domains = Object.entries(old.domains).filter(([d]) => !this.domains[d]);
    const manifest: Manifest = {
      ...old,
      files: Object.fromEntries(
        [...files, ...Object.entries(this.files)].sort(([a], [b]) => a.localeCompare(b)),
      ),
      domains: Object.fromEntries([...domains, ...Object.entries(this.domains)]),
      notes: { ...old.notes, ...notes },
    };
    await Deno.writeTextFile(path, JSON.stringify(manifest, null, 1) + "\n");
    return manifest;
  }
}

function recordsOf(
  entries: readonly EmojiEntry[],
  families: readonly string[],
  indices: readonly number[],
): EmojiRecord[] {
  return indices.map((i) => ({
    unified: entries[i].unified,
    name: entries[i].name,
    category: entries[i].category,
    family: families[i],
  }));
}

/** Prepares every emoji style in full into `cache` (merged into its manifest). */
export async function prepareEmojiCache(cache: string): Promise<Manifest> {
  await Deno.mkdir(`${cache}/src`, { recursive: true });
  const srcDir = await Deno.realPath(`${cache}/src`);
  let entries: EmojiEntry[] | undefined;
  const styles: StyleImages[] = [];
  for (const style of EMOJI_STYLES) {
    const { dir, sha } = await fetchStyle(style, srcDir);
    const file = `${dir}/emoji.json`;
    const mine = parseEmojiJson(await Deno.readTextFile(file), file);
    if (entries && mine.map((e) => e.unified).join() !== entries.map((e) => e.unified).join()) {
      throw new DataError(file, "lists other emoji than the first style's emoji.json");
    }
    entries = mine;
    const images = await Promise.all(mine.map(async (e) => {
      const png = `${dir}/${style.imageDir}/${e.image}`;
      return decodeEmojiPng(await Deno.readFile(png), png);
    }));
    styles.push({ style, sha, licence: await Deno.readTextFile(`${dir}/LICENSE`), images });
  }
  const all = entries!;
  const families = emojiFamilies(all, styles);
  const splits = splitByFamily(
    families,
    all.map((e) => e.category),
    EMOJI_TEST_FRACTION,
    EMOJI_SPLIT_SEED,
  );
  const at = (s: "train" | "test") => [...all.keys()].filter((i) => splits[i] === s);
  const ids = new Map<string, number>();
  for (const f of families) if (!ids.has(f)) ids.set(f, ids.size);
  const groupIds = families.map((f) => ids.get(f)!);
  const w = new EmojiWriter(cache);
  for (const s of styles) {
    const part = (split: "train" | "test") => ({
      ds: datasetOf(s, all, groupIds, at(split), split),
      records: recordsOf(all, families, at(split)),
    });
    await w.writeDomain(
      { train: part("train"), test: part("test") },
      attributionText(s.style, s.licence),
    );
  }
  return w.mergeManifest("cache", {
    emoji: `${all.length} emoji in ${new Set(families).size} families; ` +
      `${at("test").length} (whole families, ${EMOJI_TEST_FRACTION * 100} % of each category) ` +
      `held out for test with seed ${EMOJI_SPLIT_SEED}; licences in each emoji domain's ATTRIBUTION.md`,
  });
}

/** True when `cache`'s manifest lists every emoji domain and all their files verify. */
export async function emojiCacheVerifies(cache: string): Promise<boolean> {
  try {
    const dir = dataDirFromPath(cache);
    const manifest = await readManifest(dir);
    if (!EMOJI_STYLES.every((s) => manifest.domains[s.domain])) return false;
    for (const rel of Object.keys(manifest.files)) {
      if (EMOJI_STYLES.some((s) => rel.startsWith(`${s.domain}/`))) {
        await readVerified(dir, manifest, rel);
      }
    }
    return true;
  } catch {
    return false;
  }
}

async function readRecords(cache: string, manifest: Manifest, rel: string): Promise<EmojiRecord[]> {
  const bytes = await readVerified(dataDirFromPath(cache), manifest, rel);
  return JSON.parse(new TextDecoder().decode(bytes)) as EmojiRecord[];
}

/** Writes the small category-balanced emoji subset from `cache` into `embedDir` (merged manifest). */
export async function embedEmoji(cache: string, embedDir: string): Promise<Manifest> {
  const dir = dataDirFromPath(cache);
  const manifest = await readManifest(dir);
  const w = new EmojiWriter(embedDir);
  const { train: perTrain, test: perTest } = EMOJI_EMBED_PER_CLASS;
  for (const style of EMOJI_STYLES) {
    const full = await loadDomainFrom(dir, style.domain, { canonical: false });
    const part = async (split: "train" | "test", perClass: number, seed: number) => {
      const ds = full[split];
      const records = await readRecords(cache, manifest, `${style.domain}/${split}-emoji.json`);
      const pick = balancedIndices(ds.labels, ds.classes.length, perClass, seed);
      return {
        ds: {
          ...subset(ds, pick),
          source: `${ds.source}; category-balanced subset (seed ${seed})`,
        },
        records: pick.map((i) => records[i]),
      };
    };
    const attribution = await readVerified(dir, manifest, `${style.domain}/ATTRIBUTION.md`);
    await w.writeDomain(
      {
        train: await part("train", perTrain, EMOJI_EMBED_SEED),
        test: await part("test", perTest, EMOJI_EMBED_SEED + 1),
      },
      new TextDecoder().decode(attribution),
    );
  }
  return w.mergeManifest("embedded", {
    "emoji-subset": `up to ${perTrain} train and ${perTest} test emoji per category of each ` +
      `emoji domain, chosen with seeds ${EMOJI_EMBED_SEED} and ${EMOJI_EMBED_SEED + 1}`,
  });
}

/** Emoji counts per category of a domain's splits, as table rows. */
export function categoryTable(splits: Record<"train" | "test", Dataset>): string[] {
  const train = classCounts(splits.train), test = classCounts(splits.test);
  return EMOJI_CATEGORIES.map((c, k) => `| ${c} | ${train[k]} | ${test[k]} |`);
}

const FLAGS = {
  cache: { type: "string" },
  embed: { type: "boolean" },
  "embed-dir": { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const EmojiFlags = z.object({
  cache: z.string().min(1).optional(),
  embed: z.boolean().default(false),
  "embed-dir": z.string().min(1).default("data/embedded"),
  force: z.boolean().default(false),
  help: z.boolean().default(false),
});

/** Usage text of the script. */
export const USAGE = `usage: deno run -A scripts/prepare_emoji.ts [--cache DIR] [--embed]
  [--embed-dir data/embedded] [--force]
${EXIT_CODES_HELP}`;

/** Prepares the emoji domains when they do not verify (or with `force`), then embeds them when asked. */
export async function prepareEmoji(
  opts: { cache: string; embed: boolean; embedDir: string; force: boolean },
): Promise<void> {
  if (!opts.force && await emojiCacheVerifies(opts.cache)) {
    console.log(`emoji: cache ${opts.cache} verifies`);
  } else {
    const t0 = performance.now();
    await prepareEmojiCache(opts.cache);
    console.log(`emoji: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (opts.embed) await embedEmoji(opts.cache, opts.embedDir);
}

/** Runs the script; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const f = parseFlags(argv, FLAGS, EmojiFlags);
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const cache = f.cache ?? defaultCacheDir();
  await prepareEmoji({ cache, embed: f.embed, embedDir: f["embed-dir"], force: f.force });
  for (const style of EMOJI_STYLES) {
    const splits = await loadDomainFrom(dataDirFromPath(cache), style.domain, { canonical: false });
    console.log(
      `${style.domain}: ${splits.train.labels.length} train + ` +
        `${splits.test.labels.length} test\n| category | train | test |\n|---|---|---|`,
    );
    console.log(categoryTable(splits).join("\n"));
  }
  return 0;
}

if (import.meta.main) await runCli("data", main);
