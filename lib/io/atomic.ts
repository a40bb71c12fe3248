/**
 * Atomic file writes: the bytes go to a temporary file named
 * `.<name>.<uuid>.tmp` beside the target, synced, then renamed over it, so a
 * reader sees the old file or the new one, never a part. A killed write can
 * leave such a temporary behind; {@linkcode temporaryTarget} recognises them.
 * @module
 */
import { basename, dirname, join } from "node:path";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TEMPORARY = new RegExp(`^\\.(.+)\\.${UUID}\\.tmp$`);

/** The temporary file an atomic write of `path` goes through. */
export function atomicTemporary(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.tmp`);
}

/** The name of the file a temporary named `name` was written for, or undefined when it is none. */
export function temporaryTarget(name: string): string | undefined {
  return TEMPORARY.exec(name)?.[1];
}

/** Writes `data` to `path` atomically (temporary file, sync, rename); on failure `path` is untouched. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = atomicTemporary(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o666 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
