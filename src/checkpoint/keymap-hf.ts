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

/*
 * HF transformers' ViT-family names <-> vitlens names: ViT (modeling_vit.py), DeiT, DINOv2 and
 * DINOv2 with registers, under the Hub's names (`encoder.layer.N.attention.attention.query`, what
 * save_pretrained writes) and transformers 5's module names (`layers.N.attention.q_proj`). A
 * classifier's backbone sits under its family's prefix (`vit.`, `deit.`, `dinov2.`, ...).
 */
const LAYER = String.raw`(?:encoder\.layer|layers)\.(\d+)`;
const RENAMES: Array<[RegExp, string]> = [
  [/^embeddings\.cls_token$/, "cls_token"],
  [/^embeddings\.distillation_token$/, "dist_token"],
  [/^embeddings\.register_tokens$/, "reg_token"],
  [/^embeddings\.position_embeddings$/, "pos_embed"],
  [/^embeddings\.patch_embeddings\.projection\.(weight|bias)$/, "patch_embed.proj.$1"],
  [new RegExp(`^${LAYER}\\.(?:layernorm_before|norm1)\\.(weight|bias)$`), "blocks.$1.norm1.$2"],
  [new RegExp(`^${LAYER}\\.attention\\.(?:output\\.dense|o_proj)\\.(weight|bias)$`), "blocks.$1.attn.proj.$2"],
  [new RegExp(`^${LAYER}\\.(?:layernorm_after|norm2)\\.(weight|bias)$`), "blocks.$1.norm2.$2"],
  [new RegExp(`^${LAYER}\\.(?:intermediate\\.dense|mlp\\.fc1)\\.(weight|bias)$`), "blocks.$1.mlp.fc1.$2"],
  [new RegExp(`^${LAYER}\\.(?:output\\.dense|mlp\\.fc2)\\.(weight|bias)$`), "blocks.$1.mlp.fc2.$2"],
  [new RegExp(`^${LAYER}\\.layer_scale1\\.lambda1$`), "blocks.$1.ls1.gamma"],
  [new RegExp(`^${LAYER}\\.layer_scale2\\.lambda1$`), "blocks.$1.ls2.gamma"],
  [/^layernorm\.(weight|bias)$/, "norm.$1"],
];
const QKV = new RegExp(`^${LAYER}\\.attention\\.(?:attention\\.(query|key|value)|(q|k|v)_proj)\\.(weight|bias)$`);
const QKV_PART = { q: "query", k: "key", v: "value" } as const;
/** The heads of the HF classifiers: ViT / DeiT / DINOv2 `classifier`, DeiT-with-teacher's two. */
const HEADS: Array<[RegExp, string]> = [
  [/^(?:classifier|cls_classifier)\.(weight|bias)$/, "head.$1"],
  [/^distillation_classifier\.(weight|bias)$/, "head_dist.$1"],
];
/** Present in real HF checkpoints, not used by a classifier: dropped with a note. */
const IGNORED = [/^pooler\.dense\.(weight|bias)$/, /^embeddings\.mask_token$/, /^embeddings\.position_ids$/];
/** Where a classifier keeps its backbone. */
const BACKBONE_PREFIX = /^(vit|deit|dinov2|dinov2_with_registers|vit_msn)\./;

export function isHfStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(?:(?:vit|deit|dinov2|dinov2_with_registers|vit_msn)\.)?embeddings\.patch_embeddings\.projection\.weight$/.test(k)) return true;
  return false;
}

/** Maps an HF state dict to vitlens params, concatenating query/key/value into one qkv per block. */
export function fromHf(state: Map<string, Tensor>, file: string): MappedState {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  const ignored: string[] = [];
  const qkvParts = new Map<string, Partial<Record<"query" | "key" | "value", Tensor>>>();
  for (const [key, t] of state) {
    const k = key.replace(BACKBONE_PREFIX, "");
    const head = HEADS.find(([re]) => re.test(key));
    if (head) {
      params.set(key.replace(head[0], head[1]), t);
      origin.set(key.replace(head[0], head[1]), key);
      continue;
    }
    const qkv = QKV.exec(k);
    if (qkv) {
      const name = `blocks.${qkv[1]}.attn.qkv.${qkv[4]}`;
      const part = qkv[2] ?? QKV_PART[qkv[3] as keyof typeof QKV_PART];
      qkvParts.set(name, { ...qkvParts.get(name), [part]: t });
      origin.set(name, key.replace(/(query|key|value|[qkv]_proj)/, "{query,key,value}"));
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

/** The HF families vitlens writes: the backbone prefix of their classifiers and their block names. */
export type HfFamily = "vit" | "deit" | "dinov2" | "dinov2_with_registers";

/**
 * vitlens params -> HF names of `family` (the backbone under the family's prefix and its
 * classifier names for a classifier, a bare backbone otherwise). DINOv2 blocks without a layer
 * scale get λ = 1 (what their function is without one).
 */
export function toHf(params: Params, family: HfFamily = "vit"): Map<string, Tensor> {
  const hasHead = params.has("head.weight");
  const prefix = hasHead ? `${family}.` : "";
  const dinov2 = family.startsWith("dinov2");
  const out = new Map<string, Tensor>();
  for (const [name, t] of params) {
    const qkv = /^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(name);
    if (qkv) {
      const rows = t.shape[0] / 3;
      ["query", "key", "value"].forEach((part, i) => {
        out.set(`${prefix}encoder.layer.${qkv[1]}.attention.attention.${part}.${qkv[2]}`, sliceRows(t, i * rows, rows));
      });
      if (dinov2 && qkv[2] === "weight" && !params.has(`blocks.${qkv[1]}.ls1.gamma`)) {
        const ones = { data: new Float32Array(rows).fill(1), shape: [rows] };
        for (const s of [1, 2]) out.set(`${prefix}encoder.layer.${qkv[1]}.layer_scale${s}.lambda1`, ones);
      }
      continue;
    }
    if (name.startsWith("head.") || name.startsWith("head_dist.")) {
      const distilled = params.has("head_dist.weight");
      out.set(name.replace(/^head\./, distilled ? "cls_classifier." : "classifier.").replace(/^head_dist\./, "distillation_classifier."), t);
      continue;
    }
    out.set(prefix + hfName(name, dinov2), t);
  }
  return out;
}

function hfName(name: string, dinov2: boolean): string {
  const inverse: Array<[RegExp, string]> = [
    [/^cls_token$/, "embeddings.cls_token"],
    [/^dist_token$/, "embeddings.distillation_token"],
    [/^reg_token$/, "embeddings.register_tokens"],
    [/^pos_embed$/, "embeddings.position_embeddings"],
    [/^patch_embed\.proj\.(weight|bias)$/, "embeddings.patch_embeddings.projection.$1"],
    [/^blocks\.(\d+)\.norm1\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.norm1.$2" : "encoder.layer.$1.layernorm_before.$2"],
    [/^blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, "encoder.layer.$1.attention.output.dense.$2"],
    [/^blocks\.(\d+)\.norm2\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.norm2.$2" : "encoder.layer.$1.layernorm_after.$2"],
    [/^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.mlp.fc1.$2" : "encoder.layer.$1.intermediate.dense.$2"],
    [/^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.mlp.fc2.$2" : "encoder.layer.$1.output.dense.$2"],
    [/^blocks\.(\d+)\.ls([12])\.gamma$/, "encoder.layer.$1.layer_scale$2.lambda1"],
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
