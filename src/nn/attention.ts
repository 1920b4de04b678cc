import type { Backend } from "../backend/backend.js";
import { attend } from "./attend.js";

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
  attend(be, q, k, v, B * H, N, N, hd, probs, buf.contextHeads, false); // probs (B*H, N, N), context heads (B*H, N, hd)
  be.mergeHeads(buf.contextHeads, context, B, N, 1, H, hd); // -> (B, N, D)
}

/** Buffers attentionBackward overwrites on every call: allocate once per backward pass. */
export interface AttentionScratch {
  dcontextHeads: Float32Array; // (B, H, N, hd)
  dheads: Float32Array; // (3, B, H, N, hd)
  dscores: Float32Array; // (B, H, N, N)
  dqkv: Float32Array; // (B, N, 3·D)
}

export function attentionScratch(B: number, N: number, H: number, hd: number): AttentionScratch {
  const block = B * H * N * hd;
  return { dcontextHeads: new Float32Array(block), dheads: new Float32Array(3 * block), dscores: new Float32Array(B * H * N * N), dqkv: new Float32Array(3 * block) };
}

export interface AttentionGrads {
  dprobs: Float32Array; // (B, H, N, N) dL/d(attention probabilities): attribution reads it
  dqkv: Float32Array; // (B, N, 3·D) in the fused projection's layout (a scratch buffer: use before the next call)
}

/**
 * Backward of `attention` given the kept q, k, v heads (3, B, H, N, hd) and probabilities.
 * `probsUsed` is what multiplied v (the dropped-out probabilities in training, else probs);
 * `dropMask` the attention-dropout mask or null.
 */
export function attentionBackward(
  be: Backend, heads: Float32Array, probs: Float32Array, probsUsed: Float32Array, dropMask: Float32Array | null,
  dcontext: Float32Array, B: number, N: number, H: number, hd: number, scratch?: AttentionScratch,
): AttentionGrads {
  const block = B * H * N * hd;
  const BH = B * H;
  const q = heads.subarray(0, block);
  const k = heads.subarray(block, 2 * block);
  const v = heads.subarray(2 * block, 3 * block);
  const s = scratch ?? attentionScratch(B, N, H, hd);
  const dcontextHeads = s.dcontextHeads;
  be.splitHeads(dcontext, dcontextHeads, B, N, 1, H, hd); // (B, N, D) -> (B, H, N, hd)
  const dheads = s.dheads; // (3, B, H, N, hd)
  const dq = dheads.subarray(0, block);
  const dk = dheads.subarray(block, 2 * block);
  const dv = dheads.subarray(2 * block, 3 * block);
  const dprobs = new Float32Array(BH * N * N);
  be.batchMatmul(dcontextHeads, v, dprobs, BH, N, N, hd, false, true, 1, false); // dP = dC @ v^T
  be.batchMatmul(probsUsed, dcontextHeads, dv, BH, N, hd, N, true, false, 1, false); // dv = P^T @ dC
  if (dropMask) for (let i = 0; i < dprobs.length; i++) dprobs[i] *= dropMask[i];
  const dscores = s.dscores;
  be.softmaxBackward(dprobs, probs, dscores, BH * N, N);
  const scale = 1 / Math.sqrt(hd);
  be.batchMatmul(dscores, k, dq, BH, N, hd, N, false, false, scale, false); // dq = dS @ k * scale
  be.batchMatmul(dscores, q, dk, BH, N, hd, N, true, false, scale, false); // dk = dS^T @ q * scale
  const dqkv = s.dqkv;
  be.mergeHeads(dheads, dqkv, B, N, 3, H, hd); // (3, B, H, N, hd) -> (B, N, 3, H, hd)
  return { dprobs, dqkv };
}
