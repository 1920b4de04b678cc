import { VitlensError } from "../errors.js";

/*
 * Checkpoints of vision families vitlens does not compute, recognised by their key names so the
 * refusal names the family (and what it has that vitlens lacks) instead of "not a ViT".
 */
const FAMILIES: Array<[RegExp, string]> = [
  [/(^|\.)rope\.|freqs_(cos|sin)$/, "EVA-02 (rotary embeddings, SwiGLU)"],
  [/\.mlp\.(w12|w3|fc1_g|fc1_x)\./, "a ViT with a SwiGLU MLP (EVA, DINOv2-giant's SwiGLU variant)"],
  [/^(vision_model\.)?head\.attention\.in_proj_weight$|^(vision_model\.)?head\.probe$/, "SigLIP (no CLS token, an attention-pooling head)"],
  [/^attn_pool\./, "a ViT with attention pooling (timm global_pool='map')"],
  [/layers\.\d+\.blocks\.\d+\.attn\.relative_position_bias_table$|\.downsample\.reduction\.weight$/, "Swin (windowed attention, patch merging)"],
  [/^stages\.\d+\.|downsample_layers\./, "a convolutional network (ConvNeXt-style stages), not a ViT"],
  [/^(backbone|patch_embed)\.stem\./, "a hybrid ViT with a convolutional stem"],
  [/^(encoder\.)?mask_unit_attn|^unroll\./, "Hiera (hierarchical stages, mask units)"],
];

/** Throws naming the family when the keys show one vitlens does not compute; returns otherwise. */
export function refuseKnownFamily(keys: string[], file: string): void {
  for (const [pattern, what] of FAMILIES) {
    const key = keys.find((k) => pattern.test(k));
    if (key) throw new VitlensError(`${file}: ${what} is not supported (key "${key}")`);
  }
}
