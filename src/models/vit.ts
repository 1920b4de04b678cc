import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { attention, attentionBuffers } from "../nn/attention.js";
import { layernorm } from "../nn/layernorm.js";
import { linear } from "../nn/linear.js";
import type { Tensor } from "../tensor.js";
import type { ViTConfig } from "./vit-config.js";
import { embed, vitDims } from "./vit-embed.js";
import { countParameters } from "./vit-params.js";
import type { Params } from "../tensor.js";

export interface ViTOutput {
  logits: Tensor | null; // (B, classes); null when the model has no head
  features: Tensor; // (B, D) final-norm CLS token, the head's input
  attentions: Tensor[]; // per layer (B, H, N, N) attention probabilities
}

/**
 * Vision Transformer (Dosovitskiy et al. 2021), pre-norm, classification on the CLS token.
 * Weights live in `params` under vitlens' (timm-style) names; forward keeps every layer's
 * attention probabilities, which the explain/ code reads directly.
 */
export class ViT {
  constructor(
    readonly config: ViTConfig,
    readonly params: Params,
  ) {}

  get numParameters(): number {
    return countParameters(this.params);
  }

  private p(name: string): Float32Array {
    const t = this.params.get(name);
    if (!t) throw new Error(`ViT: parameter ${name} is missing`);
    return t.data;
  }

  private pOptional(name: string): Float32Array | null {
    return this.params.get(name)?.data ?? null;
  }

  /** pixels (B, C, H, W), normalized like the checkpoint's preprocessor. */
  forward(pixels: Tensor, be: Backend = getBackend()): ViTOutput {
    const c = this.config;
    const { x, B, N, D, attentions } = this.blocks(pixels, be);
    // Final norm on the CLS tokens only: the head reads nothing else.
    const clsTokens = new Float32Array(B * D); // (B, D)
    for (let b = 0; b < B; b++) clsTokens.set(x.subarray(b * N * D, b * N * D + D), b * D);
    const final = layernorm(be, clsTokens, B, D, this.p("norm.weight"), this.p("norm.bias"), c.layerNormEps).out;
    const features: Tensor = { data: final, shape: [B, D] };
    const logits: Tensor | null =
      c.numClasses > 0
        ? { data: linear(be, final, B, D, this.p("head.weight"), this.p("head.bias"), c.numClasses), shape: [B, c.numClasses] }
        : null;
    return { logits, features, attentions };
  }

  /** Every token after the final norm (B, N, D): what a captioner's decoder attends to. */
  encode(pixels: Tensor, be: Backend = getBackend()): { tokens: Tensor; attentions: Tensor[] } {
    const { x, B, N, D, attentions } = this.blocks(pixels, be);
    const tokens = layernorm(be, x, B * N, D, this.p("norm.weight"), this.p("norm.bias"), this.config.layerNormEps).out;
    return { tokens: { data: tokens, shape: [B, N, D] }, attentions };
  }

  /** The transformer blocks: the residual stream (B, N, D) before the final norm, and every attention. */
  private blocks(pixels: Tensor, be: Backend): { x: Float32Array; B: number; N: number; D: number; attentions: Tensor[] } {
    const c = this.config;
    const dims = vitDims(c, pixels);
    const { B, D, H, hd, N } = dims;
    const { x } = embed(be, this.params, c, pixels, dims); // (B, N, D) residual stream, updated in place

    // Workspace reused by every layer; only the attention probabilities are kept per layer.
    const rows = B * N;
    const normed = new Float32Array(rows * D);
    const qkv = new Float32Array(rows * 3 * D);
    const context = new Float32Array(rows * D);
    const hidden = new Float32Array(rows * c.mlpSize);
    const attBuf = attentionBuffers(B, N, D);
    const attentions: Tensor[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const k = `blocks.${l}`;
      // x = x + proj(attn(norm1(x)))
      layernorm(be, x, rows, D, this.p(`${k}.norm1.weight`), this.p(`${k}.norm1.bias`), c.layerNormEps, normed);
      linear(be, normed, rows, D, this.p(`${k}.attn.qkv.weight`), this.pOptional(`${k}.attn.qkv.bias`), 3 * D, qkv); // (B*N, 3D)
      const probs = new Float32Array(B * H * N * N);
      attention(be, qkv, B, N, H, hd, probs, context, attBuf);
      attentions.push({ data: probs, shape: [B, H, N, N] });
      linear(be, context, rows, D, this.p(`${k}.attn.proj.weight`), this.p(`${k}.attn.proj.bias`), D, x, true);
      // x = x + fc2(gelu(fc1(norm2(x))))
      layernorm(be, x, rows, D, this.p(`${k}.norm2.weight`), this.p(`${k}.norm2.bias`), c.layerNormEps, normed);
      linear(be, normed, rows, D, this.p(`${k}.mlp.fc1.weight`), this.p(`${k}.mlp.fc1.bias`), c.mlpSize, hidden); // (B*N, M)
      be.geluForward(hidden, hidden, hidden.length);
      linear(be, hidden, rows, c.mlpSize, this.p(`${k}.mlp.fc2.weight`), this.p(`${k}.mlp.fc2.bias`), D, x, true);
    }
    return { x, B, N, D, attentions };
  }
}
