import type { Backend } from "../backend/backend.js";
import { attend, attendBackward, attendOutput, type AttendOutput, type AttendShape } from "./attend.js";
import { freshBuffers, within, type BufferSource } from "./buffers.js";
import { layernormOutput, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import { branchInput, finishBranch, inputGradient, sumGradient } from "./norm-placement.js";
import { residualBackward, residualForward, residualOutput, type ResidualOutput } from "./residual.js";
import type { Scratch } from "./scratch.js";
import type { SeqShape } from "./self-attention.js";

/**
 * Cross-attention branch: x + proj(attention(q(norm(x)), kv(memory))) (pre-norm), or
 * norm(x + proj(attention(q(x), kv(memory)))) with `post` (BERT's, BLIP's text decoder). Keys and
 * values are projected from the memory's own width E, so any encoder fits any decoder width.
 */
export interface CrossAttention {
  norm: Norm;
  q: Linear; // D -> D
  kv: Linear; // E -> 2D
  proj: Linear; // D -> D
  heads: number;
  post?: boolean;
}

export interface CrossAttentionGrads {
  norm: NormGrads;
  q: LinearGrads;
  kv: LinearGrads;
  proj: LinearGrads;
}

/**
 * The attended sequences projected once: memory (Bm, N, E) -> keys and values (2, Bm, H, N, hd).
 * The B query sequences attending to them may be more than Bm (a beam search's K rows per image):
 * consecutive groups of B / Bm sequences share one memory, which is then read once for the group.
 */
export interface CrossKV {
  memory: Float32Array; // (Bm*N, E) kept for the kv weight gradient
  batch: number; // Bm
  N: number;
  heads: Float32Array; // (2, Bm, H, N, hd)
}

export function crossKVForward(be: Backend, w: CrossAttention, memory: Float32Array, B: number, N: number): CrossKV {
  const D = w.q.outFeatures;
  const kv = linear(be, w.kv, memory, B * N); // (B, N, 2, H, hd)
  const heads = new Float32Array(2 * B * N * D);
  be.splitHeads(kv, heads, B, N, 2, w.heads, D / w.heads); // -> (2, B, H, N, hd)
  return { memory, batch: B, N, heads };
}

export interface CrossAttentionActs {
  ln: LayernormOutput; // (B*T, D)
  q: Float32Array; // (B*T, D)
  qHeads: Float32Array; // (Bm, H, R, hd) with R = B*T / Bm query rows per memory
  att: AttendOutput; // probs (Bm, H, R, N)
  /** Where each position looked: (B, H, T, N); att.probs itself when every sequence has its own memory (R = T). */
  maps: Float32Array;
  context: Float32Array; // (B*T, D)
  res: ResidualOutput;
}

/** Buffers from `source`; `memories`: Bm, the memory sequences the B query sequences attend to (B when omitted). */
export function crossAttentionActs(
  s: SeqShape, D: number, H: number, N: number, source: BufferSource = freshBuffers, o: { memories?: number } = {},
): CrossAttentionActs {
  const rows = s.B * s.T;
  const Bm = o.memories ?? s.B;
  const att = attendOutput({ BH: Bm * H, Tq: rows / Bm, Tk: N, hd: D / H }, within(source, "att"));
  return {
    ln: layernormOutput(rows, D, within(source, "ln")), q: source("q", [rows, D]), qHeads: source("qHeads", [Bm, H, rows / Bm, D / H]),
    att, maps: Bm === s.B ? att.probs : source("maps", [s.B, H, s.T, N]), context: source("context", [rows, D]), res: residualOutput(rows, D, within(source, "res")),
  };
}

/** Query rows per memory: the B*T rows grouped by the Bm memories they attend to. */
function rowsPerMemory(s: SeqShape, kv: CrossKV): number {
  if (s.B % kv.batch !== 0) throw new Error(`cross-attention: ${s.B} query sequences cannot share ${kv.batch} memories`);
  return (s.B / kv.batch) * s.T;
}

function attendShape(w: CrossAttention, s: SeqShape, kv: CrossKV): AttendShape {
  return { BH: kv.batch * w.heads, Tq: rowsPerMemory(s, kv), Tk: kv.N, hd: w.q.outFeatures / w.heads };
}

/** out = x + proj(attention(q(norm(x)), keys and values of `kv`)) for x (B*T, D), or its post-norm form. */
export function crossAttentionForward(be: Backend, w: CrossAttention, x: Float32Array, s: SeqShape, kv: CrossKV, acts: CrossAttentionActs): void {
  const rows = s.B * s.T;
  const D = w.q.outFeatures;
  const hd = D / w.heads;
  const half = kv.heads.length / 2;
  const Bm = kv.batch;
  const R = rowsPerMemory(s, kv);
  const input = branchInput(be, w.norm, !!w.post, x, rows, acts.ln);
  linear(be, w.q, input, rows, { out: acts.q });
  be.splitHeads(acts.q, acts.qHeads, Bm, R, 1, w.heads, hd); // (Bm, R, D) -> (Bm, H, R, hd)
  attend(be, { q: acts.qHeads, k: kv.heads.subarray(0, half), v: kv.heads.subarray(half) }, attendShape(w, s, kv), acts.att);
  be.mergeHeads(acts.att.contextHeads, acts.context, Bm, R, 1, w.heads, hd);
  // Shared memories: the probabilities (Bm, H, K, T*N) regrouped by sequence, (Bm, K, H, T*N).
  if (acts.maps !== acts.att.probs) be.mergeHeads(acts.att.probs, acts.maps, Bm, R / s.T, 1, w.heads, s.T * kv.N);
  residualForward(be, w.proj, { input: acts.context, x, rows }, acts.res, null);
  finishBranch(be, w.norm, !!w.post, acts.res, acts.ln, rows);
}

/**
 * Backward from dL/d(out): gradients added into `g` (the kv projection's too), dL/dx written to
 * `dx` (may be `dout`), dL/d(memory) (B*N, E) added into `dmemory`.
 */
export function crossAttentionBackward(
  be: Backend, w: CrossAttention, g: CrossAttentionGrads, s: SeqShape, kv: CrossKV, acts: CrossAttentionActs,
  grad: { dout: Float32Array; dx: Float32Array; dmemory: Float32Array }, scratch: Scratch,
): void {
  const rows = s.B * s.T;
  const D = w.q.outFeatures;
  const hd = D / w.heads;
  const half = kv.heads.length / 2;
  if (kv.batch !== s.B) throw new Error("cross-attention backward: every sequence needs its own memory (training does not share them)");
  const post = !!w.post;
  const dsum = sumGradient(be, w.norm, g.norm, post, acts.res, acts.ln, grad.dout, scratch, "cross");
  const dcontext = scratch.get("cross.dcontext", rows * D);
  residualBackward(be, w.proj, g.proj, acts.res, { input: acts.context, dout: dsum, dinput: dcontext }, scratch);
  const dcontextHeads = scratch.get("cross.dcontextHeads", rows * D);
  be.splitHeads(dcontext, dcontextHeads, s.B, s.T, 1, w.heads, hd);
  const dqHeads = scratch.get("cross.dqHeads", rows * D);
  const dkvHeads = scratch.get("cross.dkvHeads", 2 * half);
  attendBackward(be, { q: acts.qHeads, k: kv.heads.subarray(0, half), v: kv.heads.subarray(half) }, attendShape(w, s, kv), acts.att, dcontextHeads, {
    dq: dqHeads, dk: dkvHeads.subarray(0, half), dv: dkvHeads.subarray(half), dscores: scratch.get("cross.dscores", acts.att.probs.length),
  });
  const dkv = scratch.get("cross.dkv", 2 * half);
  be.mergeHeads(dkvHeads, dkv, s.B, kv.N, 2, w.heads, hd); // (2, B, H, N, hd) -> (B, N, 2, H, hd)
  linearBackward(be, w.kv, g.kv, { x: kv.memory, rows: s.B * kv.N, dy: dkv, dx: grad.dmemory, accumulateDx: true });
  const dq = scratch.get("cross.dq", rows * D);
  be.mergeHeads(dqHeads, dq, s.B, s.T, 1, w.heads, hd);
  const din = scratch.get("cross.din", rows * D);
  linearBackward(be, w.q, g.q, { x: post ? acts.res.x : acts.ln.out, rows, dy: dq, dx: din });
  inputGradient(be, w.norm, g.norm, post, acts.res, acts.ln, { dsum, din, dx: grad.dx }, scratch, "cross");
}
