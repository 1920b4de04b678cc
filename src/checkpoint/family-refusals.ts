import { VitlensError } from "../errors.js";

/*
 * Vision families vitlens does not compute, refused by name with what they have that vitlens lacks
 * instead of "not a ViT": one wording whether the config (hf-families.ts) or the keys (here, and
 * timm's key rules) give them away.
 */

/** Each refused family in words. */
export const UNSUPPORTED_FAMILIES = {
  eva: "EVA-02 (rotary embeddings, SwiGLU)",
  swiglu: "a ViT with a SwiGLU MLP (EVA, DINOv2-giant's SwiGLU variant)",
  siglip: "SigLIP (no CLS token, an attention-pooling head)",
  attentionPool: "a ViT with attention pooling (timm global_pool='map')",
  swin: "Swin (windowed attention, patch merging)",
  convnet: "a convolutional network (ConvNeXt-style stages), not a ViT",
  hybrid: "a hybrid ViT with a convolutional stem",
  hiera: "Hiera (hierarchical stages, mask units)",
} as const;

const F = UNSUPPORTED_FAMILIES;

/** Key names that give a family away (timm's key rules refuse the ones a timm-layout file can hold). */
export const FAMILY_KEYS: Array<[RegExp, string]> = [
  [/(^|\.)rope\.|freqs_(cos|sin)$/, F.eva],
  [/\.mlp\.(w12|w3|fc1_g|fc1_x)\./, F.swiglu],
  [/^(vision_model\.)?head\.attention\.in_proj_weight$|^(vision_model\.)?head\.probe$/, F.siglip],
  [/^attn_pool\./, F.attentionPool],
  [/layers\.\d+\.blocks\.\d+\.attn\.relative_position_bias_table$|\.downsample\.reduction\.weight$/, F.swin],
  [/^stages\.\d+\.|downsample_layers\./, F.convnet],
  [/^(backbone|patch_embed)\.stem\./, F.hybrid],
  [/^(encoder\.)?mask_unit_attn|^unroll\./, F.hiera],
];

/** Throws naming the family when the keys show one vitlens does not compute; returns otherwise. */
export function refuseKnownFamily(keys: string[], file: string): void {
  for (const [pattern, what] of FAMILY_KEYS) {
    const key = keys.find((k) => pattern.test(k));
    if (key) throw new VitlensError(`${file}: ${what} is not supported (key "${key}")`);
  }
}
