import type { Params, Tensor } from "../tensor.js";
import { applyKeyRules, sliceRows, type KeyRules, type MappedState } from "./keymap-rules.js";

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

/**
 * vitlens params -> HF CLIP vision names: CLIPVisionModel's (no prefix) for a backbone,
 * CLIPForImageClassification's (`vision_model.` + `classifier`) for a classifier.
 */
export function toClip(params: Params): Map<string, Tensor> {
  const prefix = params.has("head.weight") ? "vision_model." : "";
  const out = new Map<string, Tensor>();
  const inverse: Array<[RegExp, string]> = [
    [/^patch_embed\.proj\.weight$/, "embeddings.patch_embedding.weight"],
    [/^norm_pre\.(weight|bias)$/, "pre_layrnorm.$1"],
    [/^blocks\.(\d+)\.norm1\.(weight|bias)$/, "encoder.layers.$1.layer_norm1.$2"],
    [/^blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, "encoder.layers.$1.self_attn.out_proj.$2"],
    [/^blocks\.(\d+)\.norm2\.(weight|bias)$/, "encoder.layers.$1.layer_norm2.$2"],
    [/^blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$/, "encoder.layers.$1.mlp.$2.$3"],
    [/^norm\.(weight|bias)$/, "post_layernorm.$1"],
  ];
  for (const [name, t] of params) {
    const qkv = /^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(name);
    if (qkv) {
      const rows = t.shape[0] / 3;
      ["q", "k", "v"].forEach((part, i) => out.set(`${prefix}encoder.layers.${qkv[1]}.self_attn.${part}_proj.${qkv[2]}`, sliceRows(t, i * rows, rows)));
    } else if (name === "cls_token") out.set(`${prefix}embeddings.class_embedding`, { data: t.data, shape: [t.shape[2]] });
    else if (name === "pos_embed") out.set(`${prefix}embeddings.position_embedding.weight`, { data: t.data, shape: [t.shape[1], t.shape[2]] });
    else if (name.startsWith("head.")) out.set(name.replace(/^head\./, "classifier."), t);
    else {
      const hit = inverse.find(([re]) => re.test(name));
      if (!hit) throw new Error(`toClip: no HF CLIP name for parameter ${name}`);
      out.set(prefix + name.replace(hit[0], hit[1]), t);
    }
  }
  return out;
}
