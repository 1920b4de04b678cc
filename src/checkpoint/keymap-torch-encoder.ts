import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { applyKeyRules, type MappedState } from "./keymap-rules.js";

/*
 * Hand-written ViTs built on torch.nn.TransformerEncoder: `<encoder>.layers.N.self_attn.
 * in_proj_weight` (q, k, v stacked as timm's fused qkv), `out_proj`, `linear1` / `linear2`,
 * `norm1` / `norm2`, and an optional final `<encoder>.norm`. Around it, the names people use for
 * the patch convolution, class token, position embedding and head. What the state dict cannot
 * say — norm_first (pre or post), the activation, the pooling — comes from flags; LayerNorm eps
 * is PyTorch's default 1e-5 unless --ln-eps.
 */
const PATCH = /^(patch_embed\.proj|patch_embed|patch_embedding|patch_embeddings|conv_proj|to_patch_embedding|embedding)\.(weight|bias)$/;
const CLS = /^(cls_token|class_token|cls_embedding|cls)$/;
const POS = /^(pos_embed|pos_embedding|position_embedding|position_embeddings|pos_encoding)(\.weight)?$/;

export function isTorchEncoderStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(?:[\w.]+\.)?layers\.\d+\.self_attn\.in_proj_weight$/.test(k)) return true;
  return false;
}

export function fromTorchEncoder(state: Map<string, Tensor>, file: string): MappedState {
  const first = [...state.keys()].find((k) => /layers\.0\.self_attn\.in_proj_weight$/.test(k))!;
  const enc = first.slice(0, first.indexOf("layers.0.")).replace(/\./g, "\\."); // "transformer\." or ""
  const L = `^${enc}layers\\.(\\d+)\\.`;
  const rule = (pattern: string, to: string): [RegExp, string] => [new RegExp(pattern), to];
  const mapped = applyKeyRules(state, file, {
    what: "an nn.TransformerEncoder ViT checkpoint (pass --keymap FILE for other names)",
    renames: [
      [PATCH, "patch_embed.proj.$2"],
      [CLS, "cls_token"],
      [POS, "pos_embed"],
      rule(`${L}self_attn\\.in_proj_(weight|bias)$`, "blocks.$1.attn.qkv.$2"),
      rule(`${L}self_attn\\.out_proj\\.(weight|bias)$`, "blocks.$1.attn.proj.$2"),
      rule(`${L}linear1\\.(weight|bias)$`, "blocks.$1.mlp.fc1.$2"),
      rule(`${L}linear2\\.(weight|bias)$`, "blocks.$1.mlp.fc2.$2"),
      rule(`${L}norm1\\.(weight|bias)$`, "blocks.$1.norm1.$2"),
      rule(`${L}norm2\\.(weight|bias)$`, "blocks.$1.norm2.$2"),
      rule(`^(?:${enc}norm|norm|ln|layernorm)\\.(weight|bias)$`, "norm.$1"),
      [/^(?:head|fc|classifier|mlp_head|mlp_head\.1)\.(weight|bias)$/, "head.$1"],
      [/^mlp_head\.0\.(weight|bias)$/, "fc_norm.$1"],
    ],
  });
  if (!mapped.params.has("patch_embed.proj.weight") || mapped.params.get("patch_embed.proj.weight")!.shape.length !== 4) {
    throw new VitlensError(`${file}: an nn.TransformerEncoder ViT whose patch convolution is not one of ${PATCH.source}; pass --keymap FILE to name it (vitlens inspect --keys lists the names to map to)`);
  }
  return {
    ...mapped,
    hints: { ...mapped.hints, layerNormEps: 1e-5 },
    notes: ["nn.TransformerEncoder layers: LayerNorm eps 1e-5 (PyTorch's default; --ln-eps to change)"],
    family: "nn.TransformerEncoder",
  };
}

/** The flags an nn.TransformerEncoder ViT needs, since its state dict cannot hold them. */
export const TORCH_ENCODER_FLAGS = ["norm", "activation", "pool"] as const;
