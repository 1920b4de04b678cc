import { VitlensError } from "../errors.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import type { MappedState } from "./keymap-hf.js";

/**
 * torchvision's VisionTransformer (vit_b_16, vit_b_32, vit_l_16, vit_h_14) state dicts -> vitlens.
 * Its blocks are pre-norm with LayerNorm eps 1e-6, exact GELU and nn.MultiheadAttention, whose
 * in_proj_weight (3D, D) stacks q, k, v rows: the same as timm's fused qkv. The MLP's Linear
 * layers are `mlp.0` / `mlp.3` (torchvision >= 0.13) or `mlp.linear_1` / `mlp.linear_2` (before).
 */
const RENAMES: Array<[RegExp, string]> = [
  [/^class_token$/, "cls_token"],
  [/^encoder\.pos_embedding$/, "pos_embed"],
  [/^conv_proj\.(weight|bias)$/, "patch_embed.proj.$1"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.ln_1\.(weight|bias)$/, "blocks.$1.norm1.$2"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.self_attention\.in_proj_(weight|bias)$/, "blocks.$1.attn.qkv.$2"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.self_attention\.out_proj\.(weight|bias)$/, "blocks.$1.attn.proj.$2"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.ln_2\.(weight|bias)$/, "blocks.$1.norm2.$2"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.mlp\.(?:0|linear_1)\.(weight|bias)$/, "blocks.$1.mlp.fc1.$2"],
  [/^encoder\.layers\.encoder_layer_(\d+)\.mlp\.(?:3|linear_2)\.(weight|bias)$/, "blocks.$1.mlp.fc2.$2"],
  [/^encoder\.ln\.(weight|bias)$/, "norm.$1"],
  [/^heads\.head\.(weight|bias)$/, "head.$1"],
];

export function isTorchvisionStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === "conv_proj.weight" || k.startsWith("conv_proj.conv_last.")) return true;
  return false;
}

export function fromTorchvision(state: Map<string, Tensor>, file: string): MappedState {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  for (const [key, t] of state) {
    if (key.startsWith("heads.pre_logits.")) {
      throw new VitlensError(`${file}: "${key}": torchvision's representation layer (heads.pre_logits + tanh before the head) is not supported; vitlens' ViT classifies straight from the CLS token`);
    }
    if (key.startsWith("conv_proj.conv_")) {
      throw new VitlensError(`${file}: "${key}": torchvision's convolutional stem (conv_stem_configs) is not supported; vitlens' ViT has a single patch convolution`);
    }
    const hit = RENAMES.find(([re]) => re.test(key));
    if (!hit) throw new VitlensError(`${file}: unexpected key "${key}" for a torchvision VisionTransformer checkpoint`);
    const name = key.replace(hit[0], hit[1]);
    if (params.has(name)) throw new VitlensError(`${file}: "${key}" and "${origin.get(name)}" are the same parameter (both MLP namings in one file)`);
    params.set(name, t);
    origin.set(name, key);
  }
  return { params, origin, ignored: [] };
}
