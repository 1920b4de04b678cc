import { VitlensError } from "../errors.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import type { MappedState } from "./keymap-hf.js";

/** timm's VisionTransformer names are vitlens' own (fused qkv in q, k, v row order). */
const KNOWN = [
  /^(cls_token|dist_token|reg_token)$/, /^pos_embed$/, /^patch_embed\.proj\.(weight|bias)$/,
  /^blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$/, /^blocks\.\d+\.ls[12]\.gamma$/,
  /^norm\.(weight|bias)$/, /^head(_dist)?\.(weight|bias)$/,
];

export function isTimmStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === "patch_embed.proj.weight") return true;
  return false;
}

export function fromTimm(state: Map<string, Tensor>, file: string): MappedState {
  const params: Params = new Map();
  for (const [key, t] of state) {
    if (!KNOWN.some((re) => re.test(key))) {
      const hint = /^(fc_norm|attn_pool|pre_logits)/.test(key) ? " (this ViT variant — average pooling, attention pooling or pre-logits — is not supported yet)"
        : /^norm_pre/.test(key) ? " (pre_norm: a norm before block 0, as CLIP's towers have, is not supported yet)"
          : /\.(q_norm|k_norm)\./.test(key) ? " (qk_norm is not supported yet)" : "";
      throw new VitlensError(`${file}: unexpected key "${key}" for a timm ViT checkpoint${hint}`);
    }
    params.set(key, t);
  }
  return { params, origin: new Map([...params.keys()].map((k) => [k, k])), ignored: [] };
}

export function toTimm(params: Params): Map<string, Tensor> {
  return new Map(params);
}
