/**
 * Where a module's activation buffers come from. A module names each buffer it writes and its
 * shape; the caller's plan (nn/activation-plan.ts) decides whether that is a fresh array, one
 * shared by every layer, the residual stream itself, or another buffer of the same layer.
 */
export type BufferSource = (name: string, shape: number[]) => Float32Array;

export const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Every buffer its own new array (a module used on its own, tests). */
export const freshBuffers: BufferSource = (_name, shape) => new Float32Array(elements(shape));

/** The same source with the names under `prefix` ("attn" + "ln.out" -> "attn.ln.out"). */
export function within(source: BufferSource, prefix: string): BufferSource {
  return (name, shape) => source(`${prefix}.${name}`, shape);
}
