/**
 * The full data sets that `deno task data` prepares in a cache directory.
 * @module
 */
import type { Split } from "./dataset.ts";
import { loadDomainFrom, type LoadOptions } from "./domains.ts";
import { dataDirFromPath } from "./manifest.ts";
import { loadEmbedded } from "./embedded.ts";

/** Default cache directory, relative to the working directory. */
export const DEFAULT_CACHE_DIR = ".cache/da3-data";

/** The cache directory: `DA3_DATA` when set, else {@linkcode DEFAULT_CACHE_DIR}. */
export function defaultCacheDir(): string {
  try {
    return Deno.env.get("DA3_DATA") || DEFAULT_CACHE_DIR;
  } catch {
    return DEFAULT_CACHE_DIR;
  }
}

/** Loads domain `name` in full from the cache directory (default {@linkcode defaultCacheDir}). */
export function loadCached(
  name: string,
  opts: LoadOptions & { cacheDir?: string } = {},
): Promise<Split> {
  return loadDomainFrom(dataDirFromPath(opts.cacheDir ?? defaultCacheDir()), name, opts);
}

/** Where to load a domain from: the committed subset or the full prepared cache. */
export type DataOrigin = "embedded" | "cache";

/** Loads domain `name` from `origin` (default: the embedded subset). */
export function loadDomain(
  name: string,
  opts: LoadOptions & { origin?: DataOrigin; cacheDir?: string } = {},
): Promise<Split> {
  return opts.origin === "cache" ? loadCached(name, opts) : loadEmbedded(name, opts);
}
