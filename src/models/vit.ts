import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { VitlensError } from "../errors.js";
import { attentionForward } from "../nn/attention.js";
import { layernormForward } from "../nn/layernorm.js";
import { linearForward } from "../nn/linear.js";
import { shapeString, type Tensor } from "../tensor.js";
import { gridSize, numTokens, type ViTConfig } from "./vit-config.js";
import { countParameters, type Params } from "./vit-params.js";

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
    const [B, C, Hpx, Wpx] = pixels.shape;
    if (pixels.shape.length !== 4 || C !== c.numChannels || Hpx !== c.imageSize[0] || Wpx !== c.imageSize[1]) {
      throw new VitlensError(
        `ViT forward: expected pixels (B, ${c.numChannels}, ${c.imageSize[0]}, ${c.imageSize[1]}), found ${shapeString(pixels.shape)}`,
      );
    }
    const D = c.hiddenSize;
    const H = c.numHeads;
    const hd = D / H;
    const N = numTokens(c);
    const [gh, gw] = gridSize(c);
    const P = gh * gw;
    const rowLen = C * c.patchSize * c.patchSize;

    // Patch embedding: a stride-p convolution is a matmul over flattened patches.
    const patches = new Float32Array(B * P * rowLen);
    be.patchify(pixels.data, patches, B, C, Hpx, Wpx, c.patchSize); // (B*P, C*p*p)
    const embedded = linearForward(be, patches, B * P, rowLen, this.p("patch_embed.proj.weight"), this.p("patch_embed.proj.bias"), D); // (B*P, D)

    // Tokens: [CLS, patches] + position embeddings.
    let x = new Float32Array(B * N * D); // (B, N, D)
    const cls = this.p("cls_token");
    const pos = this.p("pos_embed"); // (1, N, D)
    for (let b = 0; b < B; b++) {
      x.set(cls, b * N * D);
      x.set(embedded.subarray(b * P * D, (b + 1) * P * D), b * N * D + D);
      const tokens = x.subarray(b * N * D, (b + 1) * N * D);
      be.add(tokens, pos, tokens, N * D);
    }

    const attentions: Tensor[] = [];
    const rows = B * N;
    for (let l = 0; l < c.numLayers; l++) {
      const k = `blocks.${l}`;
      // x = x + proj(attn(norm1(x)))
      const ln1 = layernormForward(be, x, rows, D, this.p(`${k}.norm1.weight`), this.p(`${k}.norm1.bias`), c.layerNormEps);
      const qkv = linearForward(be, ln1.out, rows, D, this.p(`${k}.attn.qkv.weight`), this.pOptional(`${k}.attn.qkv.bias`), 3 * D); // (B*N, 3D)
      const att = attentionForward(be, qkv, B, N, H, hd);
      attentions.push({ data: att.probs, shape: [B, H, N, N] });
      const attOut = linearForward(be, att.context, rows, D, this.p(`${k}.attn.proj.weight`), this.p(`${k}.attn.proj.bias`), D);
      const x1 = new Float32Array(rows * D);
      be.add(x, attOut, x1, rows * D);
      // x = x + fc2(gelu(fc1(norm2(x))))
      const ln2 = layernormForward(be, x1, rows, D, this.p(`${k}.norm2.weight`), this.p(`${k}.norm2.bias`), c.layerNormEps);
      const hidden = linearForward(be, ln2.out, rows, D, this.p(`${k}.mlp.fc1.weight`), this.p(`${k}.mlp.fc1.bias`), c.mlpSize); // (B*N, M)
      be.geluForward(hidden, hidden, hidden.length);
      const mlpOut = linearForward(be, hidden, rows, c.mlpSize, this.p(`${k}.mlp.fc2.weight`), this.p(`${k}.mlp.fc2.bias`), D);
      x = new Float32Array(rows * D);
      be.add(x1, mlpOut, x, rows * D);
    }

    // Final norm on the CLS tokens only: the head reads nothing else.
    const clsTokens = new Float32Array(B * D); // (B, D)
    for (let b = 0; b < B; b++) clsTokens.set(x.subarray(b * N * D, b * N * D + D), b * D);
    const normed = layernormForward(be, clsTokens, B, D, this.p("norm.weight"), this.p("norm.bias"), c.layerNormEps).out;
    const features: Tensor = { data: normed, shape: [B, D] };
    const logits: Tensor | null =
      c.numClasses > 0
        ? { data: linearForward(be, normed, B, D, this.p("head.weight"), this.p("head.bias"), c.numClasses), shape: [B, c.numClasses] }
        : null;
    return { logits, features, attentions };
  }
}
