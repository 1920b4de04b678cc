import type { Backend } from "../backend/backend.js";
import type { Dropout } from "./dropout.js";
import { mlpActs, mlpBackward, mlpForward, type Mlp, type MlpActs, type MlpGrads } from "./mlp.js";
import { branchOutput } from "./norm-placement.js";
import type { Scratch } from "./scratch.js";
import {
  selfAttentionActs, selfAttentionBackward, selfAttentionForward,
  type SelfAttention, type SelfAttentionActs, type SelfAttentionGrads, type SeqShape,
} from "./self-attention.js";

/**
 * A Transformer encoder block: pre-norm (ViT, timm's `Block`): x += attn(norm1(x)); x += mlp(norm2(x)),
 * or post-norm (nn.TransformerEncoderLayer): x = norm1(x + attn(x)); x = norm2(x + mlp(x)).
 */
export interface EncoderBlock {
  attn: SelfAttention;
  mlp: Mlp;
}

export interface EncoderBlockGrads {
  attn: SelfAttentionGrads;
  mlp: MlpGrads;
}

export interface EncoderBlockActs {
  attn: SelfAttentionActs;
  mlp: MlpActs;
}

/**
 * One block's activations. What a pass keeps is decided here: with `stream`, both residual adds
 * update that buffer in place and GELU runs in place (inference: one set serves every layer);
 * without it each branch writes its own output (training: one set per layer), sharing with
 * `shareWith` (another layer's set) what backward never reads: qkv, context heads, GELU output.
 */
export function encoderBlockActs(
  s: SeqShape, sizes: { D: number; H: number; M: number; A?: number }, o: { stream?: Float32Array; shareWith?: EncoderBlockActs } = {},
): EncoderBlockActs {
  const rows = s.B * s.T;
  const { D, H, M, A } = sizes;
  return {
    attn: selfAttentionActs(s, D, H, { out: o.stream, shareWith: o.shareWith?.attn, A }),
    mlp: mlpActs(rows, D, M, { act: o.stream ? "hidden" : o.shareWith?.mlp.act, out: o.stream }),
  };
}

/** x (B*T, D) through the block; returns the stream after it. */
export function encoderBlockForward(
  be: Backend, w: EncoderBlock, x: Float32Array, s: SeqShape, acts: EncoderBlockActs, dropout: Dropout | null = null,
): Float32Array {
  selfAttentionForward(be, w.attn, x, s, acts.attn, { dropout });
  mlpForward(be, w.mlp, branchOutput(!!w.attn.post, acts.attn.res, acts.attn.ln), s.B * s.T, acts.mlp, dropout);
  return branchOutput(!!w.mlp.post, acts.mlp.res, acts.mlp.ln);
}

/**
 * Backward in place: `dx` holds dL/d(block output) on entry and dL/d(block input) on return.
 * Gradients are added into `g`. Returns dL/d(attention probabilities) (B, H, T, T), in `dprobs`
 * when given (a buffer the caller reuses), else in a new array.
 */
export function encoderBlockBackward(
  be: Backend, w: EncoderBlock, g: EncoderBlockGrads, s: SeqShape, acts: EncoderBlockActs, dx: Float32Array, scratch: Scratch,
  dprobs?: Float32Array,
): Float32Array {
  mlpBackward(be, w.mlp, g.mlp, acts.mlp, { dout: dx, dx }, scratch);
  return selfAttentionBackward(be, w.attn, g.attn, s, acts.attn, { dout: dx, dx, dprobs }, scratch);
}
