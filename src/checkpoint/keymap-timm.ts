import type { Params, Tensor } from "../tensor.js";
import { FAMILY_KEYS } from "./family-refusals.js";
import { applyKeyRules, type KeyRules, type MappedState } from "./keymap-rules.js";

/*
 * timm's VisionTransformer names are vitlens' own (fused qkv in q, k, v row order, ls1/ls2 layer
 * scale, norm_pre, fc_norm, dist_token / head_dist, reg_token). timm's Beit differs in three
 * places: q_bias and v_bias beside a bias-free qkv (the key bias is zero), gamma_1 / gamma_2
 * for the layer scale, and its relative position tables.
 */
const same = (pattern: string): [RegExp, string] => [new RegExp(`^(${pattern})$`), "$1"];

const TIMM_RULES: KeyRules = {
  what: "a timm ViT checkpoint",
  renames: [
    same(String.raw`cls_token|dist_token|reg_token|pos_embed`),
    same(String.raw`patch_embed\.(proj|norm|norm_in)\.(weight|bias)`),
    same(String.raw`(norm_pre|norm|fc_norm)\.(weight|bias)`),
    same(String.raw`blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)`),
    same(String.raw`blocks\.\d+\.ls[12]\.gamma`),
    same(String.raw`head(_dist)?\.(weight|bias)`),
    [/^blocks\.(\d+)\.gamma_([12])$/, "blocks.$1.ls$2.gamma"],
    same(String.raw`blocks\.\d+\.attn\.relative_position_bias_table|rel_pos_bias\.relative_position_bias_table`),
  ],
  ignored: [/relative_position_index$/],
  refused: [
    [/^head\.(fc|norm)\./, "a multi-layer head (pre-logits) is not supported"],
    [/\.(q_norm|k_norm)\./, "qk_norm is not supported yet"],
    ...FAMILY_KEYS.map(([pattern, what]): [RegExp, string] => [pattern, `${what} is not supported`]),
  ],
};

export function isTimmStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === "patch_embed.proj.weight") return true;
  return false;
}

export function fromTimm(state: Map<string, Tensor>, file: string): MappedState {
  // Beit's q_bias / v_bias: one fused qkv bias with a zero key part
  const fused = new Map(state);
  // timm's resample_abs_pos_embed (checkpoint loading, dynamic_img_size) is bicubic with antialias,
  // with or without a config.json beside the weights
  const hints: MappedState["hints"] = { posEmbedResample: "bicubic-antialias" };
  for (const [key, q] of state) {
    const m = /^blocks\.(\d+)\.attn\.q_bias$/.exec(key);
    const v = m && state.get(`blocks.${m[1]}.attn.v_bias`);
    if (!m || !v) continue;
    const bias = new Float32Array(3 * q.data.length);
    bias.set(q.data);
    bias.set(v.data, 2 * q.data.length);
    fused.delete(key);
    fused.delete(`blocks.${m[1]}.attn.v_bias`);
    fused.set(`blocks.${m[1]}.attn.qkv.bias`, { data: bias, shape: [bias.length] });
    hints.keyBias = false;
  }
  const mapped = applyKeyRules(fused, file, TIMM_RULES);
  return { ...mapped, hints: { ...mapped.hints, ...hints }, family: "timm" };
}

/** vitlens' names are timm's; a zero key bias (BEiT) stays in the fused bias, which timm's VisionTransformer reads. */
export function toTimm(params: Params): Map<string, Tensor> {
  return new Map(params);
}
