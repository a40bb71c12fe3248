/**
 * The small subset of every domain committed under `data/embedded/`, so that
 * a fresh clone trains and tests with nothing to download or install.
 * @module
 */
import type { Split } from "./dataset.ts";
import { loadDomainFrom, type LoadOptions } from "./domains.ts";
import { type DataDir, dataDirFromUrl } from "./manifest.ts";

/** URL of the committed subset (`data/embedded/` of the repository). */
export const EMBEDDED_URL: URL = new URL("../../data/embedded/", import.meta.url);

/** The committed subset as a data directory. */
export function embeddedDir(): DataDir {
  return dataDirFromUrl(EMBEDDED_URL, "data/embedded");
}

/** Loads domain `name` from the committed subset (files verified against its manifest). */
export function loadEmbedded(name: string, opts: LoadOptions = {}): Promise<Split> {
  return loadDomainFrom(embeddedDir(), name, opts);
}
