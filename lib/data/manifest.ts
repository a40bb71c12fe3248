/**
 * The manifest of a data directory (the cache or the embedded subset): every
 * file with its SHA-256 and size, and every stored domain with its split
 * sizes, shape and provenance. Files are verified against it on every read.
 * @module
 */
import { z } from "zod";
import { verifySha256 } from "./checksum.ts";
import { DataError } from "./errors.ts";

/** Name of the manifest file inside a data directory. */
export const MANIFEST_FILE = "manifest.json";

/** One file of a data directory: its SHA-256 (hex) and size. */
export interface ManifestFile {
  /** SHA-256 of the file's bytes, lowercase hex. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** One domain of a data directory: split sizes, stored shape, classes and provenance. */
export interface ManifestDomain {
  /** Training examples. */
  train: number;
  /** Test examples. */
  test: number;
  /** Stored image shape `[C, H, W]`. */
  shape: [number, number, number];
  /** Class names. */
  classes: string[];
  /** Where the data come from. */
  source: string;
  /** The domain this one is computed from, when derived. */
  derivedFrom?: string;
}

/** A parsed `manifest.json`. */
export interface Manifest {
  /** Format tag. */
  format: "da3-data/1";
  /** The full prepared cache or the committed subset. */
  kind: "cache" | "embedded";
  /** What wrote it. */
  createdBy: string;
  /** Every file, by path relative to the directory. */
  files: Record<string, ManifestFile>;
  /** Every domain, by name. */
  domains: Record<string, ManifestDomain>;
  /** Free-form provenance notes. */
  notes?: Record<string, string>;
}

/** Schema of `manifest.json`. */
const manifestSchema: z.ZodType<Manifest> = z.object({
  format: z.literal("da3-data/1"),
  kind: z.enum(["cache", "embedded"]),
  createdBy: z.string(),
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int() }),
  ),
  domains: z.record(
    z.string(),
    z.object({
      train: z.number().int(),
      test: z.number().int(),
      shape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
      classes: z.array(z.string()),
      source: z.string(),
      derivedFrom: z.string().optional(),
    }),
  ),
  notes: z.record(z.string(), z.string()).optional(),
});

/** A directory of data files: its root URL and a label for messages. */
export interface DataDir {
  /** What to call the directory in messages (a path). */
  label: string;
  /** The directory's URL, ending in `/`. */
  base: URL;
}

/** A {@linkcode DataDir} for a file-system path. */
export function dataDirFromPath(path: string): DataDir {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  return { label: path, base: new URL(`file://${abs.endsWith("/") ? abs : abs + "/"}`) };
}

/** A {@linkcode DataDir} for a directory URL. */
export function dataDirFromUrl(url: URL, label = url.pathname): DataDir {
  return { label, base: url };
}

async function readBytes(dir: DataDir, rel: string, hint: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(new URL(rel, dir.base));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataError(`${dir.label}/${rel}`, `missing${hint}`);
    }
    throw new DataError(`${dir.label}/${rel}`, `cannot read (${(e as Error).message})`);
  }
}

/** Reads and validates `manifest.json` of `dir`; throws {@linkcode DataError} when absent or invalid. */
export async function readManifest(dir: DataDir): Promise<Manifest> {
  const bytes = await readBytes(dir, MANIFEST_FILE, " (prepare the data with `deno task data`)");
  return parseManifest(new TextDecoder().decode(bytes), `${dir.label}/${MANIFEST_FILE}`);
}

/** Parses manifest text; throws {@linkcode DataError} naming `file` when it is not a valid manifest. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `not JSON (${(e as Error).message})`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new DataError(file, `invalid manifest: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** Reads `rel` from `dir` and checks it against the manifest (size and SHA-256). */
export async function readVerified(
  dir: DataDir,
  manifest: Manifest,
  rel: string,
): Promise<Uint8Array> {
  const file = `${dir.label}/${rel}`;
  const entry = manifest.files[rel];
  if (!entry) throw new DataError(file, "not listed in the manifest");
  const bytes = await readBytes(dir, rel, "");
  if (bytes.length !== entry.bytes) {
    throw new DataError(file, `size ${bytes.length} bytes, manifest says ${entry.bytes}`);
  }
  return verifySha256(bytes, entry.sha256, file);
}
