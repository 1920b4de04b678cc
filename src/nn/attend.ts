import type { Backend } from "../backend/backend.js";
import { freshBuffers, type BufferSource } from "./buffers.js";
import { applyMask } from "./dropout.js";

/** Queries (BH, Tq, hd), keys and values (BH, Tk, hd): heads already split and contiguous. */
export interface Heads {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

export interface AttendShape {
  BH: number; // batch x heads
  Tq: number; // queries per (batch, head)
  Tk: number; // keys and values per (batch, head)
  hd: number; // head width
  /**
   * A decoder's mask: the queries are positions start .. start+Tq-1 and see no key after their
   * own position (teacher forcing: start 0, Tq = Tk; one cached step: start t, Tq 1).
   */
  causal?: { start: number };
  /**
   * Keys to ignore (PyTorch's key_padding_mask): `mask` (BH / heads, Tk), nonzero = padding, shared
   * by the `heads` consecutive (batch, head) blocks of one sequence.
   */
  keyPadding?: { mask: Uint8Array; heads: number };
  /** Added to the scaled scores of every sequence (BEiT's relative position bias): `bias` (heads, Tq, Tk). */
  scoreBias?: { bias: Float32Array; heads: number };
}

/** What attention writes, and backward reads. */
export interface AttendOutput {
  probs: Float32Array; // (BH, Tq, Tk) attention probabilities: a kept activation
  contextHeads: Float32Array; // (BH, Tq, hd)
  /** Attention dropout (between softmax and the product with v): its mask and the dropped probabilities. */
  dropout: { mask: Float32Array; dropped: Float32Array } | null;
  /** Where `dropout.dropped` comes from when a pass first needs it. */
  source: BufferSource;
}

export function attendOutput(s: AttendShape, source: BufferSource = freshBuffers): AttendOutput {
  return { probs: source("probs", [s.BH, s.Tq, s.Tk]), contextHeads: source("contextHeads", [s.BH, s.Tq, s.hd]), dropout: null, source };
}

/** softmax(q k^T / sqrt(hd)) v per (batch, head). No fused kernel: the probabilities are kept. */
export function attend(be: Backend, h: Heads, s: AttendShape, out: AttendOutput): void {
  const { BH, Tq, Tk, hd } = s;
  const probs = out.probs;
  be.batchMatmul(h.q, h.k, probs, { batch: BH, m: Tq, n: Tk, k: hd, transB: true, alpha: 1 / Math.sqrt(hd) }); // scores
  if (s.causal) {
    for (let b = 0; b < BH; b++) {
      for (let i = 0; i < Tq; i++) probs.fill(-Infinity, (b * Tq + i) * Tk + s.causal.start + i + 1, (b * Tq + i + 1) * Tk);
    }
  }
  if (s.scoreBias) {
    const { bias, heads } = s.scoreBias;
    const block = Tq * Tk;
    for (let b = 0; b < BH; b++) {
      const scores = probs.subarray(b * block, (b + 1) * block);
      be.add(scores, bias.subarray((b % heads) * block, (b % heads + 1) * block), scores, block);
    }
  }
  if (s.keyPadding) {
    const { mask, heads } = s.keyPadding;
    for (let b = 0; b < BH; b++) {
      const row = mask.subarray(Math.floor(b / heads) * Tk, (Math.floor(b / heads) + 1) * Tk);
      for (let i = 0; i < Tq; i++) for (let j = 0; j < Tk; j++) if (row[j]) probs[(b * Tq + i) * Tk + j] = -Infinity;
    }
  }
  be.softmaxForward(probs, probs, BH * Tq, Tk);
  let used = probs;
  if (out.dropout) {
    used = out.dropout.dropped;
    used.set(probs);
    applyMask(used, out.dropout.mask);
  }
  be.batchMatmul(used, h.v, out.contextHeads, { batch: BH, m: Tq, n: hd, k: Tk });
}

/** Gradients of q, k, v (written), and dL/d(scores) scratch (BH, Tq, Tk). */
export interface AttendGrads {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  dscores: Float32Array;
  /** Where dL/d(probs) (BH, Tq, Tk) is written; a new array when omitted (it is returned). */
  dprobs?: Float32Array;
}

/**
 * Backward of `attend` from dL/d(context heads): writes dq, dk, dv; returns dL/d(probs) (BH, Tq, Tk),
 * which gradient-weighted attribution reads. Masked positions have probability 0, so softmax's
 * backward gives them no gradient.
 */
export function attendBackward(
  be: Backend, h: Heads, s: AttendShape, saved: AttendOutput, dcontextHeads: Float32Array, g: AttendGrads,
): Float32Array {
  const { BH, Tq, Tk, hd } = s;
  const used = saved.dropout ? saved.dropout.dropped : saved.probs;
  const dprobs = g.dprobs ?? new Float32Array(BH * Tq * Tk);
  be.batchMatmul(dcontextHeads, h.v, dprobs, { batch: BH, m: Tq, n: Tk, k: hd, transB: true }); // dP = dC @ v^T
  be.batchMatmul(used, dcontextHeads, g.dv, { batch: BH, m: Tk, n: hd, k: Tq, transA: true }); // dv = P^T @ dC
  applyMask(dprobs, saved.dropout?.mask ?? null);
  be.softmaxBackward(dprobs, saved.probs, g.dscores, BH * Tq, Tk);
  const alpha = 1 / Math.sqrt(hd);
  be.batchMatmul(g.dscores, h.k, g.dq, { batch: BH, m: Tq, n: hd, k: Tk, alpha }); // dq = dS @ k / sqrt(hd)
  be.batchMatmul(g.dscores, h.q, g.dk, { batch: BH, m: Tk, n: hd, k: Tq, transA: true, alpha }); // dk = dS^T @ q / sqrt(hd)
  return dprobs;
}
