import type { Tensor } from "../tensor.js";
import { applyKeyRules, type KeyRules, type MappedState } from "./keymap-rules.js";

/*
 * HF CLIP's vision tower (modeling_clip.py CLIPVisionTransformer): a class embedding (D), a patch
 * convolution without bias, positions as an nn.Embedding (N, D), `pre_layrnorm` before block 0
 * (vitlens' norm_pre), pre-norm layers with separate q/k/v projections, and `post_layernorm` on
 * the pooled CLS token (vitlens' final norm read on CLS only). The vision tower of a full CLIPModel
 * loads the same; the text tower and the projections into the joint space are not the tower's.
 */
const CLIP_RULES: KeyRules = {
  what: "an HF CLIP vision checkpoint",
  prefix: /^vision_model\./,
  renames: [
    [/^embeddings\.class_embedding$/, "cls_token"],
    [/^embeddings\.patch_embedding\.weight$/, "patch_embed.proj.weight"],
    [/^embeddings\.position_embedding\.weight$/, "pos_embed"],
    [/^pre_layrnorm\.(weight|bias)$/, "norm_pre.$1"],
    [/^encoder\.layers\.(\d+)\.layer_norm1\.(weight|bias)$/, "blocks.$1.norm1.$2"],
    [/^encoder\.layers\.(\d+)\.self_attn\.out_proj\.(weight|bias)$/, "blocks.$1.attn.proj.$2"],
    [/^encoder\.layers\.(\d+)\.layer_norm2\.(weight|bias)$/, "blocks.$1.norm2.$2"],
    [/^encoder\.layers\.(\d+)\.mlp\.fc1\.(weight|bias)$/, "blocks.$1.mlp.fc1.$2"],
    [/^encoder\.layers\.(\d+)\.mlp\.fc2\.(weight|bias)$/, "blocks.$1.mlp.fc2.$2"],
    [/^post_layernorm\.(weight|bias)$/, "norm.$1"],
  ],
  qkv: /^encoder\.layers\.(?<layer>\d+)\.self_attn\.(?<part>[qkv])_proj\.(?<kind>weight|bias)$/,
  unprefixed: [[/^classifier\.(weight|bias)$/, "head.$1"]],
  ignored: [/^embeddings\.position_ids$/, /^text_model\./, /^text_projection\./, /^visual_projection\./, /^logit_scale$/],
};

export function isClipStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(vision_model\.)?embeddings\.class_embedding$/.test(k)) return true;
  return false;
}

/**
 * CLIPVisionModel / CLIPModel: pooled = post_layernorm(CLS). CLIPForImageClassification
 * averages the patch tokens of the last hidden state, where post_layernorm has not been applied,
 * and never uses it: with a classifier the norm is dropped and the pool is the patch mean.
 */
export function fromClip(state: Map<string, Tensor>, file: string): MappedState {
  const mapped = applyKeyRules(state, file, CLIP_RULES);
  const notes: string[] = [];
  const hints = { ...mapped.hints, preNorm: true, patchBias: false, activation: "quick_gelu" as const, layerNormEps: 1e-5 };
  if (mapped.params.has("head.weight")) {
    for (const k of ["norm.weight", "norm.bias"]) {
      if (mapped.params.delete(k)) mapped.ignored.push(`vision_model.post_${k.replace("norm", "layernorm")} (CLIPForImageClassification never applies it)`);
    }
    Object.assign(hints, { pool: "avg", finalNorm: "none" });
  }
  if (mapped.ignored.some((k) => k.startsWith("text_model."))) notes.push("a full CLIP checkpoint: its vision tower is loaded, the text tower and projections are left out");
  return { ...mapped, hints, notes, family: "HF CLIP vision" };
}
