import type { Backend } from "../backend/backend.js";

export interface AttentionOutput {
  q: Float32Array; // (B, 3, H, N, hd): q, k, v per image, heads split
  probs: Float32Array; // (B, H, N, N) softmax(q k^T / sqrt(hd)), always kept
  context: Float32Array; // (B, N, D) heads merged, before the output projection
}

/**
 * Multi-head self-attention core on a fused qkv projection (B, N, 3·D) laid out as timm's
 * `qkv.reshape(B, N, 3, H, hd)`. No fused kernel: the probabilities are a kept activation.
 */
export function attentionForward(
  be: Backend, qkv: Float32Array, B: number, N: number, H: number, hd: number,
): AttentionOutput {
  const D = H * hd;
  const heads = new Float32Array(B * N * 3 * D);
  be.swapAxes12(qkv, heads, B, N, 3 * H, hd); // (B, N, 3H, hd) -> (B, 3H, N, hd)
  const probs = new Float32Array(B * H * N * N);
  const ctxHeads = new Float32Array(B * H * N * hd);
  const headBlock = H * N * hd;
  for (let b = 0; b < B; b++) {
    const base = b * 3 * headBlock;
    const q = heads.subarray(base, base + headBlock); // (H, N, hd)
    const k = heads.subarray(base + headBlock, base + 2 * headBlock);
    const v = heads.subarray(base + 2 * headBlock, base + 3 * headBlock);
    const p = probs.subarray(b * H * N * N, (b + 1) * H * N * N); // (H, N, N)
    be.batchMatmul(q, k, p, H, N, N, hd, false, true, 1 / Math.sqrt(hd), false);
    be.softmaxForward(p, p, H * N, N);
    be.batchMatmul(p, v, ctxHeads.subarray(b * headBlock, (b + 1) * headBlock), H, N, hd, N, false, false, 1, false);
  }
  const context = new Float32Array(B * N * D);
  be.swapAxes12(ctxHeads, context, B, H, N, hd); // (B, H, N, hd) -> (B, N, H, hd)
  return { q: heads, probs, context };
}
