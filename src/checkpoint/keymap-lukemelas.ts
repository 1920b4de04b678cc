import { VitlensError } from "../errors.js";
import type { Params } from "../tensor.js";
import { concatRows, type Tensor } from "../tensor.js";
import type { MappedState } from "./keymap-hf.js";

/** lukemelas/PyTorch-Pretrained-ViT (the seed assignment's `.pth` files) names -> vitlens. */
const RENAMES: Array<[RegExp, string]> = [
  [/^class_token$/, "cls_token"],
  [/^positional_embedding\.pos_embedding$/, "pos_embed"],
  [/^patch_embedding\.(weight|bias)$/, "patch_embed.proj.$1"],
  [/^transformer\.blocks\.(\d+)\.norm1\.(weight|bias)$/, "blocks.$1.norm1.$2"],
  [/^transformer\.blocks\.(\d+)\.norm2\.(weight|bias)$/, "blocks.$1.norm2.$2"],
  [/^transformer\.blocks\.(\d+)\.proj\.(weight|bias)$/, "blocks.$1.attn.proj.$2"],
  [/^transformer\.blocks\.(\d+)\.pwff\.fc1\.(weight|bias)$/, "blocks.$1.mlp.fc1.$2"],
  [/^transformer\.blocks\.(\d+)\.pwff\.fc2\.(weight|bias)$/, "blocks.$1.mlp.fc2.$2"],
  [/^norm\.(weight|bias)$/, "norm.$1"],
  [/^fc\.(weight|bias)$/, "head.$1"],
];
const QKV = /^transformer\.blocks\.(\d+)\.attn\.proj_([qkv])\.(weight|bias)$/;

export function isLukemelasStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k === "patch_embedding.weight") return true;
  return false;
}

export function fromLukemelas(state: Map<string, Tensor>, file: string): MappedState {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  const parts = new Map<string, Partial<Record<"q" | "k" | "v", Tensor>>>();
  for (const [key, t] of state) {
    const qkv = QKV.exec(key);
    if (qkv) {
      const name = `blocks.${qkv[1]}.attn.qkv.${qkv[3]}`;
      parts.set(name, { ...parts.get(name), [qkv[2]]: t });
      origin.set(name, key.replace(/proj_[qkv]/, "proj_{q,k,v}"));
      continue;
    }
    const hit = RENAMES.find(([re]) => re.test(key));
    if (!hit) {
      const hint = key.startsWith("pre_logits") ? " (pre-logits layers are not supported yet)" : "";
      throw new VitlensError(`${file}: unexpected key "${key}" for a PyTorch-Pretrained-ViT checkpoint${hint}`);
    }
    params.set(key.replace(hit[0], hit[1]), t);
    origin.set(key.replace(hit[0], hit[1]), key);
  }
  for (const [name, p] of parts) {
    if (!p.q || !p.k || !p.v) throw new VitlensError(`${file}: ${origin.get(name)} is missing one of q, k, v`);
    params.set(name, concatRows([p.q, p.k, p.v]));
  }
  return { params, origin, ignored: [] };
}
