import { VitlensError } from "../errors.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import { concatRows, shapeString } from "../tensor.js";

/** A checkpoint's tensors under vitlens names, with each one's key in the file (for errors). */
export interface MappedState {
  params: Params;
  origin: Map<string, string>;
  ignored: string[];
}

/** HF transformers' ViT names (modeling_vit.py) <-> vitlens names. `p` is "vit." or "" (bare ViTModel). */
const RENAMES: Array<[RegExp, string]> = [
  [/^embeddings\.cls_token$/, "cls_token"],
  [/^embeddings\.position_embeddings$/, "pos_embed"],
  [/^embeddings\.patch_embeddings\.projection\.(weight|bias)$/, "patch_embed.proj.$1"],
  [/^encoder\.layer\.(\d+)\.layernorm_before\.(weight|bias)$/, "blocks.$1.norm1.$2"],
  [/^encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)$/, "blocks.$1.attn.proj.$2"],
  [/^encoder\.layer\.(\d+)\.layernorm_after\.(weight|bias)$/, "blocks.$1.norm2.$2"],
  [/^encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)$/, "blocks.$1.mlp.fc1.$2"],
  [/^encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)$/, "blocks.$1.mlp.fc2.$2"],
  [/^layernorm\.(weight|bias)$/, "norm.$1"],
];
const QKV = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/;
/** Present in real HF checkpoints, not used by a classifier: dropped with a note. */
const IGNORED = [/^pooler\.dense\.(weight|bias)$/, /^embeddings\.mask_token$/, /^embeddings\.position_ids$/];

export function isHfStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(vit\.)?embeddings\.patch_embeddings\.projection\.weight$/.test(k)) return true;
  return false;
}

/** Maps an HF state dict to vitlens params, concatenating query/key/value into one qkv per block. */
export function fromHf(state: Map<string, Tensor>, file: string): MappedState {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  const ignored: string[] = [];
  const qkvParts = new Map<string, Partial<Record<"query" | "key" | "value", Tensor>>>();
  for (const [key, t] of state) {
    const k = key.startsWith("vit.") ? key.slice(4) : key;
    if (key === "classifier.weight" || key === "classifier.bias") {
      params.set(`head.${key.split(".")[1]}`, t);
      origin.set(`head.${key.split(".")[1]}`, key);
      continue;
    }
    const qkv = QKV.exec(k);
    if (qkv) {
      const name = `blocks.${qkv[1]}.attn.qkv.${qkv[3]}`;
      qkvParts.set(name, { ...qkvParts.get(name), [qkv[2]]: t });
      origin.set(name, key.replace(/(query|key|value)/, "{query,key,value}"));
      continue;
    }
    const rename = RENAMES.find(([re]) => re.test(k));
    if (rename) {
      params.set(k.replace(rename[0], rename[1]), t);
      origin.set(k.replace(rename[0], rename[1]), key);
    }
    else if (IGNORED.some((re) => re.test(k))) ignored.push(key);
    else throw new VitlensError(`${file}: unexpected key "${key}" for an HF ViT checkpoint`);
  }
  for (const [name, parts] of qkvParts) {
    const { query, key, value } = parts;
    if (!query || !key || !value) {
      const missing = (["query", "key", "value"] as const).filter((p) => !parts[p]);
      throw new VitlensError(`${file}: ${name.replace("qkv", "attention")} is missing ${missing.join(", ")}`);
    }
    if (shapeString(query.shape) !== shapeString(key.shape) || shapeString(query.shape) !== shapeString(value.shape)) {
      throw new VitlensError(`${file}: ${name}: query, key and value shapes differ (${[query, key, value].map((t) => shapeString(t.shape)).join(", ")})`);
    }
    params.set(name, concatRows([query, key, value]));
  }
  return { params, origin, ignored };
}

/** vitlens params -> HF names (`vit.` prefix and `classifier` for a classifier, bare ViTModel otherwise). */
export function toHf(params: Params): Map<string, Tensor> {
  const hasHead = params.has("head.weight");
  const prefix = hasHead ? "vit." : "";
  const out = new Map<string, Tensor>();
  for (const [name, t] of params) {
    const qkv = /^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(name);
    if (qkv) {
      const rows = t.shape[0] / 3;
      ["query", "key", "value"].forEach((part, i) => {
        out.set(`${prefix}encoder.layer.${qkv[1]}.attention.attention.${part}.${qkv[2]}`, sliceRows(t, i * rows, rows));
      });
      continue;
    }
    if (name.startsWith("head.")) {
      out.set(name.replace("head.", "classifier."), t);
      continue;
    }
    out.set(prefix + hfName(name), t);
  }
  return out;
}

function hfName(name: string): string {
  const inverse: Array<[RegExp, string]> = [
    [/^cls_token$/, "embeddings.cls_token"],
    [/^pos_embed$/, "embeddings.position_embeddings"],
    [/^patch_embed\.proj\.(weight|bias)$/, "embeddings.patch_embeddings.projection.$1"],
    [/^blocks\.(\d+)\.norm1\.(weight|bias)$/, "encoder.layer.$1.layernorm_before.$2"],
    [/^blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, "encoder.layer.$1.attention.output.dense.$2"],
    [/^blocks\.(\d+)\.norm2\.(weight|bias)$/, "encoder.layer.$1.layernorm_after.$2"],
    [/^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$/, "encoder.layer.$1.intermediate.dense.$2"],
    [/^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$/, "encoder.layer.$1.output.dense.$2"],
    [/^norm\.(weight|bias)$/, "layernorm.$1"],
  ];
  const hit = inverse.find(([re]) => re.test(name));
  if (!hit) throw new Error(`toHf: no HF name for parameter ${name}`);
  return name.replace(hit[0], hit[1]);
}

function sliceRows(t: Tensor, start: number, rows: number): Tensor {
  const rowLen = t.data.length / t.shape[0];
  return { data: t.data.slice(start * rowLen, (start + rows) * rowLen), shape: [rows, ...t.shape.slice(1)] };
}
