/**
 * Typed errors of the data layer. Each names the file (or domain) that was
 * wrong, so that a message alone tells what to fix.
 * @module
 */

/** A data file is missing, truncated, corrupt or not what it claims to be. */
export class DataError extends Error {
  /** The file (or domain) the error is about. */
  readonly file: string;
  /** Creates the error for `file` with a message saying what was wrong. */
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "DataError";
    this.file = file;
  }
}

/** A data file's SHA-256 differs from the one its manifest records. */
export class ChecksumError extends DataError {
  /** The SHA-256 (hex) the manifest records. */
  readonly expected: string;
  /** The SHA-256 (hex) of the bytes read. */
  readonly actual: string;
  /** Creates the error for `file` with both digests. */
  constructor(file: string, expected: string, actual: string) {
    super(file, `SHA-256 mismatch: manifest says ${expected}, file has ${actual}`);
    this.name = "ChecksumError";
    this.expected = expected;
    this.actual = actual;
  }
}
