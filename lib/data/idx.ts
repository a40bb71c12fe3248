/**
 * The IDX format of MNIST and Fashion-MNIST (unsigned-byte arrays only), and
 * gzip through the runtime's `CompressionStream`/`DecompressionStream`.
 * @module
 */
import { DataError } from "./errors.ts";

/** An n-dimensional array of bytes read from an IDX file. */
export interface IdxArray {
  /** Sizes of the dimensions, outermost first. */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Parses IDX bytes; throws {@linkcode DataError} naming `file` when malformed or truncated. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `IDX file too short (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(file, "not an IDX file (bad magic)");
  if (bytes[2] !== UBYTE) {
    throw new DataError(
      file,
      `IDX element type 0x${bytes[2].toString(16)} unsupported (ubyte only)`,
    );
  }
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (rank === 0 || bytes.length < header) {
    throw new DataError(file, `IDX header truncated (rank ${rank}, ${bytes.length} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + count) {
    const what = bytes.length < header + count ? "truncated" : "has trailing bytes";
    throw new DataError(
      file,
      `IDX data ${what}: dims [${dims}] need ${header + count} bytes, file has ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}

/** Encodes an unsigned-byte array as IDX bytes. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`dims [${dims}] need ${count} values`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** True when `bytes` starts with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream) {
  const out = new Response(
    new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream),
  );
  return new Uint8Array(await out.arrayBuffer());
}

/**
 * The most bytes {@linkcode gunzip} produces by default: 1 GB (10^9), above
 * any IDX file da3 reads (MNIST's training images are 47 MB), so a small
 * hostile file cannot make it allocate without bound.
 */
export const MAX_GUNZIP_BYTES = 1_000_000_000;

/** Compressed bytes fed to the decompressor at a time (deflate expands them at most 1032×). */
const GUNZIP_SLICE = 4096;

/**
 * Decompresses gzip bytes, stopping at `maxBytes` of output (it holds at most
 * `maxBytes` plus one slice's output, ≤ 4.3 MB, before stopping); throws
 * {@linkcode DataError} naming `file` when corrupt, truncated or larger.
 */
export async function gunzip(
  bytes: Uint8Array,
  file: string,
  maxBytes: number = MAX_GUNZIP_BYTES,
): Promise<Uint8Array> {
  // Fed in small slices on demand: the stream emits all the output of an input chunk at once.
  let fed = 0;
  const input = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(c) {
      if (fed >= bytes.length) c.close();
      else c.enqueue(bytes.slice(fed, fed += GUNZIP_SLICE) as Uint8Array<ArrayBuffer>);
    },
  }, { highWaterMark: 0 });
  const reader = input.pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw new DataError(file, `gzip data decompresses to more than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Compresses bytes with gzip. */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new CompressionStream("gzip"));
}

/** Parses IDX bytes that may be gzip-compressed (at most `maxBytes` once decompressed). */
export async function decodeIdx(
  bytes: Uint8Array,
  file: string,
  maxBytes: number = MAX_GUNZIP_BYTES,
): Promise<IdxArray> {
  return parseIdx(isGzip(bytes) ? await gunzip(bytes, file, maxBytes) : bytes, file);
}
