/**
 * SHA-256 checksums of data files, through `crypto.subtle`.
 * @module
 */
import { ChecksumError } from "./errors.ts";

/** The SHA-256 of `bytes` as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Returns `bytes` when their SHA-256 is `expected`; else throws {@linkcode ChecksumError} naming `file`. */
export async function verifySha256(
  bytes: Uint8Array,
  expected: string,
  file: string,
): Promise<Uint8Array> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) throw new ChecksumError(file, expected, actual);
  return bytes;
}
