import type { Backend } from "../backend/backend.js";
import {
  crossAttentionActs, crossAttentionBackward, crossAttentionForward,
  type CrossAttention, type CrossAttentionActs, type CrossAttentionGrads, type CrossKV,
} from "./cross-attention.js";
import { within, type BufferSource } from "./buffers.js";
import { mlpActs, mlpBackward, mlpForward, type Mlp, type MlpActs, type MlpGrads } from "./mlp.js";
import { branchOutput } from "./norm-placement.js";
import type { Scratch } from "./scratch.js";
import {
  selfAttentionActs, selfAttentionBackward, selfAttentionForward,
  type KVCache, type SelfAttention, type SelfAttentionActs, type SelfAttentionGrads, type SeqShape,
} from "./self-attention.js";

/** A Transformer decoder layer: causal self-attention, cross-attention to a memory, MLP; pre-norm, or post-norm (BERT's) when each branch says `post`. */
export interface DecoderLayer {
  self: SelfAttention;
  cross: CrossAttention;
  mlp: Mlp;
}

export interface DecoderLayerGrads {
  self: SelfAttentionGrads;
  cross: CrossAttentionGrads;
  mlp: MlpGrads;
}

export interface DecoderLayerActs {
  self: SelfAttentionActs;
  cross: CrossAttentionActs;
  mlp: MlpActs;
}

/**
 * One layer's activations for B sequences of T positions attending to N memory tokens, named
 * "self.*", "cross.*", "mlp.*" (where each lives: the source's plan, nn/activation-plan.ts). `Tk`
 * is the self-attention's key count (a cache's capacity; T when omitted); `memories` the
 * cross-attention's memory sequences when fewer than B (beams sharing their image's).
 */
export function decoderLayerActs(
  s: SeqShape, sizes: { D: number; H: number; M: number; N: number; memories?: number }, source: BufferSource, o: { Tk?: number } = {},
): DecoderLayerActs {
  const { D, H, M, N, memories } = sizes;
  return {
    self: selfAttentionActs(s, D, H, within(source, "self"), { Tk: o.Tk }),
    cross: crossAttentionActs(s, D, H, N, within(source, "cross"), { memories }),
    mlp: mlpActs(s.B * s.T, D, M, within(source, "mlp")),
  };
}

/**
 * x (B*T, D) through the layer; returns the stream after it. Teacher forcing passes every
 * position at once (no cache); incremental decoding passes one position with its cache, whose
 * keys and values it appends to: the same math either way.
 */
export function decoderLayerForward(
  be: Backend, w: DecoderLayer, x: Float32Array, s: SeqShape, memory: CrossKV, acts: DecoderLayerActs,
  cache?: { kv: KVCache; start: number },
): Float32Array {
  selfAttentionForward(be, w.self, x, s, acts.self, { causal: true, cache });
  crossAttentionForward(be, w.cross, branchOutput(!!w.self.post, acts.self.res, acts.self.ln), s, memory, acts.cross);
  mlpForward(be, w.mlp, branchOutput(!!w.cross.post, acts.cross.res, acts.cross.ln), s.B * s.T, acts.mlp);
  return branchOutput(!!w.mlp.post, acts.mlp.res, acts.mlp.ln);
}

/**
 * Backward in place on `dx` (dL/d(output) in, dL/d(input) out); gradients added into `g`,
 * dL/d(memory) (B*N, E) added into `dmemory`.
 */
export function decoderLayerBackward(
  be: Backend, w: DecoderLayer, g: DecoderLayerGrads, s: SeqShape, memory: CrossKV, acts: DecoderLayerActs,
  grad: { dx: Float32Array; dmemory: Float32Array }, scratch: Scratch,
): void {
  const { dx, dmemory } = grad;
  mlpBackward(be, w.mlp, g.mlp, acts.mlp, { dout: dx, dx }, scratch);
  crossAttentionBackward(be, w.cross, g.cross, s, memory, acts.cross, { dout: dx, dx, dmemory }, scratch);
  selfAttentionBackward(be, w.self, g.self, s, acts.self, { dout: dx, dx }, scratch);
}
