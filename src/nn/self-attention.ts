import type { Backend } from "../backend/backend.js";
import { attend, attendBackward, attendOutput, type AttendOutput, type AttendShape } from "./attend.js";
import { dropoutMask, type Dropout } from "./dropout.js";
import { layernorm, layernormBackward, layernormOutput, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import { residualBackward, residualForward, residualOutput, type ResidualOutput } from "./residual.js";
import { thirds, type Scratch } from "./scratch.js";

/**
 * Pre-norm multi-head self-attention branch: x + proj(attention(qkv(norm(x)))), the fused qkv
 * laid out as timm's `qkv.reshape(B, T, 3, H, hd)`.
 */
export interface SelfAttention {
  norm: Norm;
  qkv: Linear; // D -> 3D
  proj: Linear; // D -> D
  heads: number;
  layerScale?: Float32Array | null; // (D) γ on the branch output (ls1)
}

export interface SelfAttentionGrads {
  norm: NormGrads;
  qkv: LinearGrads;
  proj: LinearGrads;
  layerScale?: Float32Array | null;
}

/** B sequences of T positions: the rows (B*T) a pass processes. */
export interface SeqShape {
  B: number;
  T: number;
}

/** A decoder's key/value cache: (B, H, capacity, hd) each, positions 0..capacity-1. */
export interface KVCache {
  k: Float32Array;
  v: Float32Array;
  capacity: number;
}

export interface SelfAttentionActs {
  ln: LayernormOutput; // (B*T, D) norm(x)
  qkv: Float32Array; // (B*T, 3D)
  heads: Float32Array; // (3, B, H, T, hd) q, k, v
  att: AttendOutput; // probs (B, H, T, Tk), context heads (B, H, T, hd)
  context: Float32Array; // (B*T, D) heads merged
  res: ResidualOutput; // x, and out = x + drop(proj(context))
}

/**
 * Buffers for one branch over `s` with width D and H heads; Tk keys (a cache's capacity, else T).
 * `out` is the stream to update in place; `shareWith` another layer's set whose buffers backward
 * never reads (qkv, context heads) this one may overwrite too.
 */
export function selfAttentionActs(
  s: SeqShape, D: number, H: number, o: { Tk?: number; out?: Float32Array; shareWith?: SelfAttentionActs } = {},
): SelfAttentionActs {
  const rows = s.B * s.T;
  const att = attendOutput({ BH: s.B * H, Tq: s.T, Tk: o.Tk ?? s.T, hd: D / H });
  if (o.shareWith) att.contextHeads = o.shareWith.att.contextHeads;
  return {
    ln: layernormOutput(rows, D), qkv: o.shareWith?.qkv ?? new Float32Array(rows * 3 * D), heads: new Float32Array(rows * 3 * D),
    att, context: new Float32Array(rows * D), res: residualOutput(rows, D, o.out),
  };
}

export interface SelfAttentionOptions {
  /** Each position sees itself and the positions before it (a decoder). */
  causal?: boolean;
  /**
   * Incremental decoding: these T positions start at `start`; their keys and values are written
   * into the cache and the queries attend to every cached position (later ones masked).
   */
  cache?: { kv: KVCache; start: number };
  dropout?: Dropout | null;
}

function sizesOf(w: SelfAttention, s: SeqShape) {
  const D = w.qkv.inFeatures;
  return { B: s.B, T: s.T, D, H: w.heads, hd: D / w.heads, rows: s.B * s.T };
}

/** out = x + drop(proj(attention(norm(x)))) for x (B*T, D); writes every activation into `acts`. */
export function selfAttentionForward(
  be: Backend, w: SelfAttention, x: Float32Array, s: SeqShape, acts: SelfAttentionActs, o: SelfAttentionOptions = {},
): void {
  const { B, T, H, hd, rows } = sizesOf(w, s);
  layernorm(be, w.norm, x, rows, acts.ln);
  linear(be, w.qkv, acts.ln.out, rows, { out: acts.qkv }); // (B*T, 3D)
  be.splitHeads(acts.qkv, acts.heads, B, T, 3, H, hd); // (B, T, 3, H, hd) -> (3, B, H, T, hd)
  const [q, k, v] = thirds(acts.heads);
  let keys = { k, v, Tk: T, start: 0 };
  if (o.cache) {
    const { kv, start } = o.cache;
    for (let bh = 0; bh < B * H; bh++) {
      kv.k.set(k.subarray(bh * T * hd, (bh + 1) * T * hd), (bh * kv.capacity + start) * hd);
      kv.v.set(v.subarray(bh * T * hd, (bh + 1) * T * hd), (bh * kv.capacity + start) * hd);
    }
    keys = { k: kv.k, v: kv.v, Tk: kv.capacity, start };
  }
  const shape: AttendShape = { BH: B * H, Tq: T, Tk: keys.Tk, hd, causal: o.causal ? { start: keys.start } : undefined };
  const mask = o.dropout ? dropoutMask(acts.att.probs.length, o.dropout.attention, o.dropout.rng) : null;
  acts.att.dropout = mask ? { mask, dropped: acts.att.dropout?.dropped ?? new Float32Array(mask.length) } : null;
  attend(be, { q, k: keys.k, v: keys.v }, shape, acts.att);
  be.mergeHeads(acts.att.contextHeads, acts.context, B, T, 1, H, hd); // -> (B, T, D)
  residualForward(be, w.proj, { input: acts.context, x, rows }, acts.res, o.dropout ?? null, w.layerScale ?? null);
}

/**
 * Backward from dL/d(out) (B*T, D) of a pass without a cache: parameter gradients added into
 * `g`, dL/dx written to `dx` (may be `dout` itself). Returns dL/d(probs) (B, H, T, T), written
 * into `grad.dprobs` when given (a caller that does not keep it), else a new array.
 */
export function selfAttentionBackward(
  be: Backend, w: SelfAttention, g: SelfAttentionGrads, s: SeqShape, acts: SelfAttentionActs,
  grad: { dout: Float32Array; dx: Float32Array; dprobs?: Float32Array }, scratch: Scratch,
): Float32Array {
  const { B, T, D, H, hd, rows } = sizesOf(w, s);
  const dcontext = scratch.get("attn.dcontext", rows * D);
  residualBackward(be, w.proj, g.proj, acts.res, { input: acts.context, dout: grad.dout, dinput: dcontext }, scratch,
    w.layerScale ? { gamma: w.layerScale, dgamma: g.layerScale ?? null } : null);
  const dcontextHeads = scratch.get("attn.dcontextHeads", rows * D);
  be.splitHeads(dcontext, dcontextHeads, B, T, 1, H, hd); // (B, T, D) -> (B, H, T, hd)
  const dheads = scratch.get("attn.dheads", 3 * rows * D);
  const [q, k, v] = thirds(acts.heads);
  const [dq, dk, dv] = thirds(dheads);
  // A causal mask needs nothing here: masked probabilities are 0 and get no gradient.
  const shape: AttendShape = { BH: B * H, Tq: T, Tk: T, hd };
  const dprobs = attendBackward(be, { q, k, v }, shape, acts.att, dcontextHeads, { dq, dk, dv, dscores: scratch.get("attn.dscores", B * H * T * T), dprobs: grad.dprobs });
  const dqkv = scratch.get("attn.dqkv", 3 * rows * D);
  be.mergeHeads(dheads, dqkv, B, T, 3, H, hd); // (3, B, H, T, hd) -> (B, T, 3, H, hd)
  const dln = scratch.get("attn.dln", rows * D);
  linearBackward(be, w.qkv, g.qkv, { x: acts.ln.out, rows, dy: dqkv, dx: dln });
  const dnorm = scratch.get("attn.dnorm", rows * D);
  layernormBackward(be, w.norm, g.norm, { x: acts.res.x, saved: acts.ln, dout: dln, dx: dnorm, rows });
  be.add(grad.dout, dnorm, grad.dx, rows * D);
  return dprobs;
}
