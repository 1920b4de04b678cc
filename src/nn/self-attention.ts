import type { Backend } from "../backend/backend.js";
import { attend, attendBackward, attendOutput, type AttendOutput, type AttendShape } from "./attend.js";
import { freshBuffers, within, type BufferSource } from "./buffers.js";
import { dropoutMask, type Dropout } from "./dropout.js";
import { layernormOutput, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import { branchInput, finishBranch, inputGradient, sumGradient } from "./norm-placement.js";
import { residualBackward, residualForward, residualOutput, type ResidualOutput } from "./residual.js";
import { thirds, type Scratch } from "./scratch.js";

/**
 * Multi-head self-attention branch: x + proj(attention(qkv(norm(x)))) (pre-norm), or
 * norm(x + proj(attention(qkv(x)))) with `post`; the fused qkv laid out as timm's
 * `qkv.reshape(B, T, 3, H, hd)`. The attention width A = H * hd may differ from D (vit-pytorch).
 */
export interface SelfAttention {
  norm: Norm;
  qkv: Linear; // D -> 3A
  proj: Linear; // A -> D
  heads: number;
  layerScale?: Float32Array | null; // (D) γ on the branch output (ls1)
  post?: boolean; // the norm after the residual sum (nn.TransformerEncoderLayer, norm_first=False)
  /** added to every image's attention scores before the softmax (BEiT's relative position bias) */
  scoreBias?: Float32Array | null; // (H, T, T)
}

export interface SelfAttentionGrads {
  norm: NormGrads;
  qkv: LinearGrads;
  proj: LinearGrads;
  layerScale?: Float32Array | null;
  /** dL/d(scoreBias) (H, T, T), summed over the images */
  scoreBias?: Float32Array | null;
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
  ln: LayernormOutput; // (B*T, D) norm(x), or the post-norm output norm(x + ...)
  qkv: Float32Array; // (B*T, 3A)
  heads: Float32Array; // (3, B, H, T, hd) q, k, v
  att: AttendOutput; // probs (B, H, T, Tk), context heads (B, H, T, hd)
  context: Float32Array; // (B*T, A) heads merged
  res: ResidualOutput; // x, and out = x + drop(proj(context))
}

/** Buffers for one branch over `s` with width D and H heads, Tk keys (a cache's capacity, else T), from `source`. */
export function selfAttentionActs(s: SeqShape, D: number, H: number, source: BufferSource = freshBuffers, o: { Tk?: number; A?: number } = {}): SelfAttentionActs {
  const rows = s.B * s.T;
  const A = o.A ?? D;
  return {
    ln: layernormOutput(rows, D, within(source, "ln")), qkv: source("qkv", [rows, 3 * A]), heads: source("heads", [3, s.B, H, s.T, A / H]),
    att: attendOutput({ BH: s.B * H, Tq: s.T, Tk: o.Tk ?? s.T, hd: A / H }, within(source, "att")),
    context: source("context", [rows, A]), res: residualOutput(rows, D, within(source, "res")),
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
  const A = w.qkv.outFeatures / 3;
  return { B: s.B, T: s.T, D, A, H: w.heads, hd: A / w.heads, rows: s.B * s.T };
}

/** out = x + drop(proj(attention(norm(x)))) for x (B*T, D) (or its post-norm form); writes every activation into `acts`. */
export function selfAttentionForward(
  be: Backend, w: SelfAttention, x: Float32Array, s: SeqShape, acts: SelfAttentionActs, o: SelfAttentionOptions = {},
): void {
  const { B, T, H, hd, rows } = sizesOf(w, s);
  const input = branchInput(be, w.norm, !!w.post, x, rows, acts.ln); // norm(x), or x for post-norm
  linear(be, w.qkv, input, rows, { out: acts.qkv }); // (B*T, 3A)
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
  const shape: AttendShape = {
    BH: B * H, Tq: T, Tk: keys.Tk, hd, causal: o.causal ? { start: keys.start } : undefined, scoreBias: w.scoreBias ? { bias: w.scoreBias, heads: H } : undefined,
  };
  const mask = o.dropout ? dropoutMask(acts.att.probs.length, o.dropout.attention, o.dropout.rng) : null;
  acts.att.dropout = mask ? { mask, dropped: acts.att.dropout?.dropped ?? acts.att.source("dropped", [B * H, T, keys.Tk]) } : null;
  attend(be, { q, k: keys.k, v: keys.v }, shape, acts.att);
  be.mergeHeads(acts.att.contextHeads, acts.context, B, T, 1, H, hd); // -> (B, T, A)
  residualForward(be, w.proj, { input: acts.context, x, rows }, acts.res, o.dropout ?? null, w.layerScale ?? null);
  finishBranch(be, w.norm, !!w.post, acts.res, acts.ln, rows);
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
  const { B, T, D, A, H, hd, rows } = sizesOf(w, s);
  const post = !!w.post;
  const dsum = sumGradient(be, w.norm, g.norm, post, acts.res, acts.ln, grad.dout, scratch, "attn"); // dL/d(x + branch)
  const dcontext = scratch.get("attn.dcontext", rows * A);
  residualBackward(be, w.proj, g.proj, acts.res, { input: acts.context, dout: dsum, dinput: dcontext }, scratch,
    w.layerScale ? { gamma: w.layerScale, dgamma: g.layerScale ?? null } : null);
  const dcontextHeads = scratch.get("attn.dcontextHeads", rows * A);
  be.splitHeads(dcontext, dcontextHeads, B, T, 1, H, hd); // (B, T, A) -> (B, H, T, hd)
  const dheads = scratch.get("attn.dheads", 3 * rows * A);
  const [q, k, v] = thirds(acts.heads);
  const [dq, dk, dv] = thirds(dheads);
  // A causal mask needs nothing here: masked probabilities are 0 and get no gradient.
  const shape: AttendShape = { BH: B * H, Tq: T, Tk: T, hd };
  const dscores = scratch.get("attn.dscores", B * H * T * T);
  const dprobs = attendBackward(be, { q, k, v }, shape, acts.att, dcontextHeads, { dq, dk, dv, dscores, dprobs: grad.dprobs });
  if (g.scoreBias) {
    // the bias is added to every image's scores: its gradient is their sum
    const HTT = H * T * T;
    for (let b = 0; b < B; b++) for (let i = 0; i < HTT; i++) g.scoreBias[i] += dscores[b * HTT + i];
  }
  const dqkv = scratch.get("attn.dqkv", 3 * rows * A);
  be.mergeHeads(dheads, dqkv, B, T, 3, H, hd); // (3, B, H, T, hd) -> (B, T, 3, H, hd)
  const din = scratch.get("attn.din", rows * D);
  linearBackward(be, w.qkv, g.qkv, { x: post ? acts.res.x : acts.ln.out, rows, dy: dqkv, dx: din });
  inputGradient(be, w.norm, g.norm, post, acts.res, acts.ln, { dsum, din, dx: grad.dx }, scratch, "attn");
  return dprobs;
}
