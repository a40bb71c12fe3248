/**
 * The safetensors data types shared by the reader and the writer: element
 * types, the typed array of each, tensors and file contents.
 * @module
 */

/** Bytes per element of each safetensors dtype da3 reads. */
export const SAFETENSORS_DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;

/** A safetensors element type (the spelling used in the header). */
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_BYTES;

/** The typed array that holds each dtype's elements. */
export interface SafetensorsArrayOf {
  /** 64-bit floats. */
  F64: Float64Array;
  /** 32-bit floats. */
  F32: Float32Array;
  /** IEEE binary16, as raw bits. */
  F16: Uint16Array;
  /** bfloat16, as raw bits. */
  BF16: Uint16Array;
  /** 64-bit signed integers. */
  I64: BigInt64Array;
  /** 32-bit signed integers. */
  I32: Int32Array;
  /** 16-bit signed integers. */
  I16: Int16Array;
  /** 8-bit signed integers. */
  I8: Int8Array;
  /** 64-bit unsigned integers. */
  U64: BigUint64Array;
  /** 32-bit unsigned integers. */
  U32: Uint32Array;
  /** 16-bit unsigned integers. */
  U16: Uint16Array;
  /** Bytes. */
  U8: Uint8Array;
  /** Booleans, one byte each (0 or 1). */
  BOOL: Uint8Array;
}

/** Any tensor data array. */
export type SafetensorsData = SafetensorsArrayOf[SafetensorsDType];

/** One tensor: dtype, shape and its elements in row-major order. */
export interface SafetensorsTensor {
  /** The element type. */
  readonly dtype: SafetensorsDType;
  /** The shape (`[]` is a scalar). */
  readonly shape: readonly number[];
  /** The elements; its type follows {@link SafetensorsArrayOf}. */
  readonly data: SafetensorsData;
}

/** The contents of a safetensors file. */
export interface SafetensorsContents {
  /** Tensors by name, in data-offset order. */
  readonly tensors: Map<string, SafetensorsTensor>;
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
}
