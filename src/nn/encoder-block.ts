import type { Backend } from "../backend/backend.js";
import { within, type BufferSource } from "./buffers.js";
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

/** One block's activations, named "attn.*" and "mlp.*"; where each lives is the source's plan (nn/activation-plan.ts). */
export function encoderBlockActs(s: SeqShape, sizes: { D: number; H: number; M: number; A?: number }, source: BufferSource): EncoderBlockActs {
  const { D, H, M, A } = sizes;
  return { attn: selfAttentionActs(s, D, H, within(source, "attn"), { A }), mlp: mlpActs(s.B * s.T, D, M, within(source, "mlp")) };
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
