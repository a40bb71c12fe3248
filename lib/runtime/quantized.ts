/**
 * Host-side reduced-precision parameter values: affine u8 (`min + scale·q`,
 * per tensor or per output channel) and IEEE f16, with quantisers from f32,
 * row-block dequantisation for the CPU kernels (never the whole tensor),
 * and the packed word layout of the WebGPU buffers.
 * @module
 */
import { numel, type Shape } from "../graph/mod.ts";

/** An affine 8-bit tensor: element `i` of channel `c` is `min[c] + scale[c]·q[i]`. */
export interface U8Tensor {
  /** Discriminant. */
  readonly storage: "u8";
  /** The logical (dequantised) shape. */
  readonly shape: Shape;
  /** One byte per element, row-major. */
  readonly q: Uint8Array;
  /** Per scale pair (1, or `shape[0]` for per-channel): the value of q = 0. */
  readonly min: Float32Array;
  /** Per scale pair: the step between consecutive q. */
  readonly scale: Float32Array;
}

/** An IEEE half-precision tensor: one 16-bit pattern per element, row-major. */
export interface F16Tensor {
  /** Discriminant. */
  readonly storage: "f16";
  /** The logical shape. */
  readonly shape: Shape;
  /** Half-precision bit patterns. */
  readonly bits: Uint16Array;
}

/** A parameter value stored at reduced precision. */
export type QuantizedTensor = U8Tensor | F16Tensor;

/** True for a {@linkcode QuantizedTensor} (as opposed to a typed array). */
export function isQuantizedTensor(a: unknown): a is QuantizedTensor {
  return typeof a === "object" && a !== null && "storage" in a &&
    ((a as QuantizedTensor).storage === "u8" || (a as QuantizedTensor).storage === "f16");
}

/** Bytes a quantised tensor holds on the host (data plus scales). */
export function quantizedBytes(t: QuantizedTensor): number {
  return t.storage === "f16" ? t.bits.byteLength : t.q.byteLength + 8 * t.scale.length;
}

/**
 * Affine u8 quantisation of `values` (shape `shape`): per channel (axis 0)
 * by default or per tensor; each group maps `[min, max]` onto 0..255 with
 * round-to-nearest (a constant group gets scale 0).
 */
export function quantizeU8(
  values: Float32Array,
  shape: Shape,
  scales: "tensor" | "channel" = "channel",
): U8Tensor {
  const n = numel(shape);
  if (values.length !== n) {
    throw new RangeError(`quantizeU8: ${values.length} values for shape [${shape.join(", ")}]`);
  }
  const groups = scales === "tensor" || shape.length === 0 ? 1 : shape[0];
  const per = groups === 0 ? 0 : n / groups;
  const q = new Uint8Array(n), min = new Float32Array(groups), scale = new Float32Array(groups);
  for (let c = 0; c < groups; c++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = c * per; i < (c + 1) * per; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        throw new RangeError(`quantizeU8: element ${i} is ${v}; only finite values quantise`);
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min[c] = lo;
    scale[c] = (hi - lo) / 255;
    const s = scale[c];
    for (let i = c * per; i < (c + 1) * per; i++) {
      q[i] = s > 0 ? Math.min(255, Math.max(0, Math.round((values[i] - min[c]) / s))) : 0;
    }
  }
  return { storage: "u8", shape: [...shape], q, min, scale };
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The f16 bit pattern nearest to `v` (round to nearest even; overflow to ±Infinity). */
export function toF16Bits(v: number): number {
  F32[0] = v;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  if ((h >>> 10) >= 0x1f) e = 0x1f;
  return sign | (e === 0x1f ? 0x7c00 : h);
}

/** The value of an f16 bit pattern. */
export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | null = null;

/** Every f16 pattern's f32 value (built once, 256 KiB). */
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromF16Bits(h);
  }
  return halfTable;
}

/** IEEE half-precision storage of `values`. */
export function quantizeF16(values: Float32Array, shape: Shape): F16Tensor {
  if (values.length !== numel(shape)) {
    throw new RangeError(`quantizeF16: ${values.length} values for shape [${shape.join(", ")}]`);
  }
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toF16Bits(values[i]);
  return { storage: "f16", shape: [...shape], bits };
}

/** Elements of a quantised tensor. */
export function quantizedLength(t: QuantizedTensor): number {
  return t.storage === "f16" ? t.bits.length : t.q.length;
}

/**
 * Writes the f32 values of elements `[start, start + count)` of `t` into
 * `out` from `outOff`: the kernels' per-block dequantisation.
 */
export function dequantizeRange(
  t: QuantizedTensor,
  start: number,
  count: number,
  out: Float32Array,
  outOff = 0,
): void {
  if (t.storage === "f16") {
    const table = halves(), bits = t.bits;
    for (let i = 0; i < count; i++) out[outOff + i] = table[bits[start + i]];
    return;
  }
  const per = t.q.length / t.min.length;
  for (let i = 0; i < count;) {
    const c = Math.floor((start + i) / per);
    const end = Math.min(count, (c + 1) * per - start);
    const lo = t.min[c], s = t.scale[c];
    for (; i < end; i++) out[outOff + i] = lo + s * t.q[start + i];
  }
}

/** The whole tensor as f32: the reference the kernels are tested against (never used by them). */
export function dequantize(t: QuantizedTensor): Float32Array {
  const out = new Float32Array(quantizedLength(t));
  dequantizeRange(t, 0, out.length, out);
  return out;
}

/**
 * The pieces of the WebGPU buffer of `t`, as `[byteOffset, bytes]` pairs:
 * the packed data (u8: 4 elements per u32, element i in byte i; f16: 2 per
 * u32, element 2k in the low half) padded to whole words, then for u8 the
 * `scale` words and the `min` words (at word `ceil(n/4)` and `ceil(n/4) + C`).
 */
export function gpuPieces(t: QuantizedTensor): [number, Uint8Array][] {
  const data = t.storage === "f16"
    ? new Uint8Array(t.bits.buffer, t.bits.byteOffset, t.bits.byteLength)
    : t.q;
  const whole = data.byteLength - (data.byteLength % 4);
  const pieces: [number, Uint8Array][] = [[0, data.subarray(0, whole)]];
  if (whole < data.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(data.subarray(whole));
    pieces.push([whole, tail]);
  }
  if (t.storage === "u8") {
    const at = Math.ceil(t.q.length / 4) * 4;
    const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    pieces.push([at, bytes(t.scale)], [at + 4 * t.scale.length, bytes(t.min)]);
  }
  return pieces.filter(([, b]) => b.byteLength > 0);
}
