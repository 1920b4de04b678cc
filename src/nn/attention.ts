import type { Backend } from "../backend/backend.js";

export interface AttentionBuffers {
  heads: Float32Array; // (3, B, H, N, hd) q, k, v with heads split
  contextHeads: Float32Array; // (B, H, N, hd)
}

export function attentionBuffers(B: number, N: number, D: number): AttentionBuffers {
  return { heads: new Float32Array(3 * B * N * D), contextHeads: new Float32Array(B * N * D) };
}

/**
 * Multi-head self-attention core on a fused qkv projection (B, N, 3·D) laid out as timm's
 * `qkv.reshape(B, N, 3, H, hd)`. No fused kernel: `probs` (B, H, N, N) is a kept activation.
 * Writes the merged context (B, N, D), ready for the output projection.
 */
export function attention(
  be: Backend, qkv: Float32Array, B: number, N: number, H: number, hd: number,
  probs: Float32Array, context: Float32Array, buf: AttentionBuffers,
): void {
  const block = B * H * N * hd;
  be.splitHeads(qkv, buf.heads, B, N, 3, H, hd); // (B, N, 3, H, hd) -> (3, B, H, N, hd)
  const q = buf.heads.subarray(0, block);
  const k = buf.heads.subarray(block, 2 * block);
  const v = buf.heads.subarray(2 * block, 3 * block);
  be.batchMatmul(q, k, probs, B * H, N, N, hd, false, true, 1 / Math.sqrt(hd), false); // (B*H, N, N) scores
  be.softmaxForward(probs, probs, B * H * N, N);
  be.batchMatmul(probs, v, buf.contextHeads, B * H, N, hd, N, false, false, 1, false); // (B*H, N, hd)
  be.mergeHeads(buf.contextHeads, context, B, N, 1, H, hd); // -> (B, N, D)
}
