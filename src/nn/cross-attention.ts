import type { Backend } from "../backend/backend.js";
import { attend, attendBackward, attendOutput, type AttendOutput, type AttendShape } from "./attend.js";
import { layernorm, layernormBackward, layernormOutput, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import { residualBackward, residualForward, residualOutput, type ResidualOutput } from "./residual.js";
import type { Scratch } from "./scratch.js";
import type { SeqShape } from "./self-attention.js";

/**
 * Pre-norm cross-attention branch: x + proj(attention(q(norm(x)), kv(memory))). Keys and values
 * are projected from the memory's own width E, so any encoder fits any decoder width.
 */
export interface CrossAttention {
  norm: Norm;
  q: Linear; // D -> D
  kv: Linear; // E -> 2D
  proj: Linear; // D -> D
  heads: number;
}

export interface CrossAttentionGrads {
  norm: NormGrads;
  q: LinearGrads;
  kv: LinearGrads;
  proj: LinearGrads;
}

/** The attended sequence projected once: memory (B, N, E) -> keys and values (2, B, H, N, hd). */
export interface CrossKV {
  memory: Float32Array; // (B*N, E) kept for the kv weight gradient
  N: number;
  heads: Float32Array; // (2, B, H, N, hd)
}

export function crossKVForward(be: Backend, w: CrossAttention, memory: Float32Array, B: number, N: number): CrossKV {
  const D = w.q.outFeatures;
  const kv = linear(be, w.kv, memory, B * N); // (B, N, 2, H, hd)
  const heads = new Float32Array(2 * B * N * D);
  be.splitHeads(kv, heads, B, N, 2, w.heads, D / w.heads); // -> (2, B, H, N, hd)
  return { memory, N, heads };
}

export interface CrossAttentionActs {
  ln: LayernormOutput; // (B*T, D)
  q: Float32Array; // (B*T, D)
  qHeads: Float32Array; // (B, H, T, hd)
  att: AttendOutput; // probs (B, H, T, N): where each position looked
  context: Float32Array; // (B*T, D)
  res: ResidualOutput;
}

/** `out`: the stream to update in place; `shareWith`: another layer's set whose q and context heads (never read by backward) this one may overwrite. */
export function crossAttentionActs(
  s: SeqShape, D: number, H: number, N: number, o: { out?: Float32Array; shareWith?: CrossAttentionActs } = {},
): CrossAttentionActs {
  const rows = s.B * s.T;
  const att = attendOutput({ BH: s.B * H, Tq: s.T, Tk: N, hd: D / H });
  if (o.shareWith) att.contextHeads = o.shareWith.att.contextHeads;
  return {
    ln: layernormOutput(rows, D), q: o.shareWith?.q ?? new Float32Array(rows * D), qHeads: new Float32Array(rows * D),
    att, context: new Float32Array(rows * D), res: residualOutput(rows, D, o.out),
  };
}

function attendShape(w: CrossAttention, s: SeqShape, N: number): AttendShape {
  return { BH: s.B * w.heads, Tq: s.T, Tk: N, hd: w.q.outFeatures / w.heads };
}

/** out = x + proj(attention(q(norm(x)), keys and values of `kv`)) for x (B*T, D). */
export function crossAttentionForward(be: Backend, w: CrossAttention, x: Float32Array, s: SeqShape, kv: CrossKV, acts: CrossAttentionActs): void {
  const rows = s.B * s.T;
  const D = w.q.outFeatures;
  const hd = D / w.heads;
  const half = kv.heads.length / 2;
  layernorm(be, w.norm, x, rows, acts.ln);
  linear(be, w.q, acts.ln.out, rows, { out: acts.q });
  be.splitHeads(acts.q, acts.qHeads, s.B, s.T, 1, w.heads, hd); // (B, T, D) -> (B, H, T, hd)
  attend(be, { q: acts.qHeads, k: kv.heads.subarray(0, half), v: kv.heads.subarray(half) }, attendShape(w, s, kv.N), acts.att);
  be.mergeHeads(acts.att.contextHeads, acts.context, s.B, s.T, 1, w.heads, hd);
  residualForward(be, w.proj, { input: acts.context, x, rows }, acts.res, null);
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
  const dcontext = scratch.get("cross.dcontext", rows * D);
  residualBackward(be, w.proj, g.proj, acts.res, { input: acts.context, dout: grad.dout, dinput: dcontext }, scratch);
  const dcontextHeads = scratch.get("cross.dcontextHeads", rows * D);
  be.splitHeads(dcontext, dcontextHeads, s.B, s.T, 1, w.heads, hd);
  const dqHeads = scratch.get("cross.dqHeads", rows * D);
  const dkvHeads = scratch.get("cross.dkvHeads", 2 * half);
  attendBackward(be, { q: acts.qHeads, k: kv.heads.subarray(0, half), v: kv.heads.subarray(half) }, attendShape(w, s, kv.N), acts.att, dcontextHeads, {
    dq: dqHeads, dk: dkvHeads.subarray(0, half), dv: dkvHeads.subarray(half), dscores: scratch.get("cross.dscores", acts.att.probs.length),
  });
  const dkv = scratch.get("cross.dkv", 2 * half);
  be.mergeHeads(dkvHeads, dkv, s.B, kv.N, 2, w.heads, hd); // (2, B, H, N, hd) -> (B, N, 2, H, hd)
  linearBackward(be, w.kv, g.kv, { x: kv.memory, rows: s.B * kv.N, dy: dkv, dx: grad.dmemory, accumulateDx: true });
  const dq = scratch.get("cross.dq", rows * D);
  be.mergeHeads(dqHeads, dq, s.B, s.T, 1, w.heads, hd);
  const dln = scratch.get("cross.dln", rows * D);
  linearBackward(be, w.q, g.q, { x: acts.ln.out, rows, dy: dq, dx: dln });
  const dnorm = scratch.get("cross.dnorm", rows * D);
  layernormBackward(be, w.norm, g.norm, { x: acts.res.x, saved: acts.ln, dout: dln, dx: dnorm, rows });
  be.add(grad.dout, dnorm, grad.dx, rows * D);
}
