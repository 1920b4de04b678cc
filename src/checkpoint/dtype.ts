/** Widening of the half-precision formats checkpoints ship in; vitlens computes in float32. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits -> number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits are the top half of a float32. */
export function bfloat16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

/** Decodes little-endian F32/F16/BF16 bytes into a fresh Float32Array. */
export function decodeFloats(bytes: Uint8Array, dtype: "F32" | "F16" | "BF16"): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") {
    // Little-endian host (every platform Node ships for x86/ARM): reinterpret, copying only to align.
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  }
  const out = new Float32Array(bytes.byteLength / 2);
  const widen = dtype === "F16" ? halfToFloat : bfloat16ToFloat;
  for (let i = 0; i < out.length; i++) out[i] = widen(view.getUint16(2 * i, true));
  return out;
}
