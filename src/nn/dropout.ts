import type { Rng } from "../random.js";

/** Dropout during training: the rates and the RNG the masks are drawn from, in forward order. */
export interface Dropout {
  rng: Rng;
  hidden: number; // after the embeddings and on every branch's output
  attention: number; // on the attention probabilities
}

/** Inverted dropout mask: 0 with probability p, else 1/(1-p). null when p = 0 (identity). */
export function dropoutMask(n: number, p: number, rng: Rng): Float32Array | null {
  if (p <= 0) return null;
  const keep = 1 / (1 - p);
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < p ? 0 : keep;
  return mask;
}

/** x *= mask in place (forward), and the same for the gradient (backward). */
export function applyMask(x: Float32Array, mask: Float32Array | null): void {
  if (!mask) return;
  for (let i = 0; i < x.length; i++) x[i] *= mask[i];
}
