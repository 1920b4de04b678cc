import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { Scratch } from "../nn/scratch.js";
import type { Tensor } from "../tensor.js";
import type { ViTConfig } from "./vit-config.js";
import { vitForward } from "./vit-pass.js";
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
 * attention probabilities, which the explain/ code reads directly. The math is `vitForward`'s,
 * shared with training; inference keeps nothing else and reuses one workspace for every layer.
 */
export class ViT {
  private readonly scoringBuffers = new Scratch(); // the output-only passes' (see forward)

  constructor(
    readonly config: ViTConfig,
    readonly params: Params,
  ) {}

  get numParameters(): number {
    return countParameters(this.params);
  }

  /**
   * pixels (B, C, H, W), normalized like the checkpoint's preprocessor. `attentions: false` returns
   * no attention maps: every layer then overwrites one (B, H, N, N) buffer instead of filling its
   * own (ViT-B/16 batch 8: 179 MB less to allocate and fault in), what scoring needs.
   */
  forward(pixels: Tensor, be: Backend = getBackend(), o: { attentions?: boolean } = {}): ViTOutput {
    const buffers = o.attentions === false ? this.scoringBuffers : undefined;
    const { logits, features, attentions } = vitForward(this, pixels, be, { attentions: o.attentions, buffers });
    return { logits, features, attentions };
  }

  /** Every token after the final norm (B, N, D): what a captioner's decoder attends to; `attentions: false` returns no attention maps (and allocates none). */
  encode(pixels: Tensor, be: Backend = getBackend(), o: { attentions?: boolean } = {}): { tokens: Tensor; attentions: Tensor[] } {
    const { features, attentions } = vitForward(this, pixels, be, { output: "tokens", attentions: o.attentions });
    return { tokens: features, attentions };
  }
}
