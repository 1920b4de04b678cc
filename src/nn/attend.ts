import type { Backend } from "../backend/backend.js";

/**
 * Attention on heads already split: q (BH, Tq, hd), k and v (BH, Tk, hd). Writes the
 * probabilities (BH, Tq, Tk) and the context heads (BH, Tq, hd). `causal` masks every key after
 * the query's own position (Tq = Tk), as a decoder's self-attention needs.
 */
export function attend(
  be: Backend, q: Float32Array, k: Float32Array, v: Float32Array, BH: number, Tq: number, Tk: number, hd: number,
  probs: Float32Array, contextHeads: Float32Array, causal: boolean,
): void {
  be.batchMatmul(q, k, probs, BH, Tq, Tk, hd, false, true, 1 / Math.sqrt(hd), false); // scores
  if (causal) {
    for (let b = 0; b < BH; b++) {
      for (let i = 0; i < Tq; i++) probs.fill(-Infinity, (b * Tq + i) * Tk + i + 1, (b * Tq + i + 1) * Tk);
    }
  }
  be.softmaxForward(probs, probs, BH * Tq, Tk);
  be.batchMatmul(probs, v, contextHeads, BH, Tq, hd, Tk, false, false, 1, false);
}

/**
 * Backward of `attend`: writes dq (BH, Tq, hd), dk and dv (BH, Tk, hd); returns dL/d(probs).
 * Masked positions have probability 0, so softmax's backward gives them no gradient.
 */
export function attendBackward(
  be: Backend, q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dcontextHeads: Float32Array,
  BH: number, Tq: number, Tk: number, hd: number, dq: Float32Array, dk: Float32Array, dv: Float32Array,
): Float32Array {
  const dprobs = new Float32Array(BH * Tq * Tk);
  be.batchMatmul(dcontextHeads, v, dprobs, BH, Tq, Tk, hd, false, true, 1, false); // dP = dC @ v^T
  be.batchMatmul(probs, dcontextHeads, dv, BH, Tk, hd, Tq, true, false, 1, false); // dv = P^T @ dC
  const dscores = new Float32Array(dprobs.length);
  be.softmaxBackward(dprobs, probs, dscores, BH * Tq, Tk);
  const scale = 1 / Math.sqrt(hd);
  be.batchMatmul(dscores, k, dq, BH, Tq, hd, Tk, false, false, scale, false); // dq = dS @ k
  be.batchMatmul(dscores, q, dk, BH, Tk, hd, Tq, true, false, scale, false); // dk = dS^T @ q
  return dprobs;
}
