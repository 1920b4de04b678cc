/*
 * bfloat16 rounding: the top 16 bits of a float32, rounded to nearest with ties to even (what
 * oneDNN's f32 -> bf16 reorder and torch's `.to(torch.bfloat16)` do). NaN stays NaN; values
 * beyond bf16's largest finite round to infinity.
 */

/** out[i] = x[i] rounded to the nearest bf16, as float32 (out may be x itself). */
export function roundBf16(x: Float32Array, out: Float32Array): void {
  const src = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const dst = new Uint32Array(out.buffer, out.byteOffset, x.length);
  for (let i = 0; i < src.length; i++) {
    const u = src[i];
    if ((u & 0x7fffffff) > 0x7f800000) {
      dst[i] = (u | 0x00400000) & 0xffff0000; // NaN: keep it a (quiet) NaN
      continue;
    }
    // Adding 0x7fff plus the lowest kept bit carries into the kept bits exactly when the dropped
    // half is above one half, or exactly one half with an odd kept part.
    dst[i] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
}

/** One value rounded to bf16 (tests, references). */
export function bf16(v: number): number {
  const a = Float32Array.of(v);
  roundBf16(a, a);
  return a[0];
}
