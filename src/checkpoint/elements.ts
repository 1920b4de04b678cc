import { bfloat16ToFloat, decodeFloats, halfToFloat } from "./dtype.js";

/**
 * Element readers for every dtype a checkpoint stores (safetensors' names: F32, F16, BF16, F64,
 * I64, ..., BOOL, F8_E4M3, F8_E5M2), in either byte order: `at(i)` is element i of the bytes as a
 * number. Used to widen any float array to float32 and to reduce any tensor without copying it.
 */
export type ElementAt = (i: number) => number;

/** float8 e4m3fn (no infinities; S.1111.111 is NaN), as in safetensors / PyTorch. */
function e4m3ToFloat(b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const exp = (b >> 3) & 0xf;
  const mant = b & 7;
  if (exp === 15 && mant === 7) return NaN;
  return exp === 0 ? sign * (mant / 8) * 2 ** -6 : sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** A reader of element i, or null for a dtype with no numeric reading. */
export function elementReader(bytes: Uint8Array, dtype: string, littleEndian = true): ElementAt | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case "F32": return (i) => v.getFloat32(4 * i, le);
    case "F64": return (i) => v.getFloat64(8 * i, le);
    case "F16": return (i) => halfToFloat(v.getUint16(2 * i, le));
    case "BF16": return (i) => bfloat16ToFloat(v.getUint16(2 * i, le));
    case "F8_E5M2": return (i) => halfToFloat(bytes[i] << 8); // the top byte of a float16
    case "F8_E4M3": return (i) => e4m3ToFloat(bytes[i]);
    case "I64": return (i) => Number(v.getBigInt64(8 * i, le));
    case "U64": return (i) => Number(v.getBigUint64(8 * i, le));
    case "I32": return (i) => v.getInt32(4 * i, le);
    case "U32": return (i) => v.getUint32(4 * i, le);
    case "I16": return (i) => v.getInt16(2 * i, le);
    case "U16": return (i) => v.getUint16(2 * i, le);
    case "I8": return (i) => v.getInt8(i);
    case "U8": case "BOOL": return (i) => bytes[i];
    default: return null;
  }
}

/** Float elements widened to a fresh float32 array (vitlens computes in float32). */
export function floatsToFloat32(bytes: Uint8Array, dtype: "F32" | "F16" | "BF16" | "F64", count: number, littleEndian = true): Float32Array {
  if (littleEndian && dtype !== "F64") return decodeFloats(bytes.slice(0, count * (dtype === "F32" ? 4 : 2)), dtype); // fast path
  const at = elementReader(bytes, dtype, littleEndian)!;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = at(i);
  return out;
}

const TYPED: Record<string, { new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayLike<number>; BYTES_PER_ELEMENT: number }> = {
  F32: Float32Array, F64: Float64Array, I32: Int32Array, U32: Uint32Array, I16: Int16Array, U16: Uint16Array,
  I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};

/**
 * The bytes as a typed array without copying (copied once only when misaligned), for the dtypes
 * JavaScript has an array type for, little-endian (every Node platform); null otherwise. Loops over
 * it run several times faster than through elementReader's DataView.
 */
export function typedElements(bytes: Uint8Array, dtype: string, littleEndian = true): ArrayLike<number> | null {
  const Typed = TYPED[dtype];
  if (!Typed || (!littleEndian && Typed.BYTES_PER_ELEMENT > 1)) return null;
  const aligned = bytes.byteOffset % Typed.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  return new Typed(aligned.buffer, aligned.byteOffset, Math.floor(aligned.byteLength / Typed.BYTES_PER_ELEMENT));
}
