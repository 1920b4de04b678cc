import type { Params, Tensor } from "../tensor.js";
import { applyKeyRules, sliceRows, type KeyRules, type MappedState } from "./keymap-rules.js";

export type { MappedState } from "./keymap-rules.js";

/*
 * HF transformers' BERT-style vision names <-> vitlens names: ViT (modeling_vit.py), DeiT,
 * DINOv2 and DINOv2 with registers, ViT-MSN, BEiT and Data2Vec-vision, under the Hub's names
 * (`encoder.layer.N.attention.attention.query`, what save_pretrained writes) and transformers 5's
 * module names (`layers.N.attention.q_proj`). A classifier keeps its backbone under its family's
 * prefix (`vit.`, `deit.`, `beit.`, ...); transformers 5 saves ViT-MSN's blocks without it.
 */
const LAYER = String.raw`(?:encoder\.layer|layers)\.(\d+)`;
const rule = (pattern: string, to: string): [RegExp, string] => [new RegExp(`^${pattern}$`), to];

const HF_RULES: KeyRules = {
  what: "an HF ViT-family checkpoint",
  prefix: /^(vit|deit|dinov2|dinov2_with_registers|vit_msn|beit|data2vec_vision)\./,
  renames: [
    rule(String.raw`embeddings\.cls_token`, "cls_token"),
    rule(String.raw`embeddings\.distillation_token`, "dist_token"),
    rule(String.raw`embeddings\.register_tokens`, "reg_token"),
    rule(String.raw`embeddings\.position_embeddings`, "pos_embed"),
    rule(String.raw`embeddings\.patch_embeddings\.projection\.(weight|bias)`, "patch_embed.proj.$1"),
    rule(String.raw`${LAYER}\.(?:layernorm_before|norm1)\.(weight|bias)`, "blocks.$1.norm1.$2"),
    rule(String.raw`${LAYER}\.attention\.(?:output\.dense|o_proj)\.(weight|bias)`, "blocks.$1.attn.proj.$2"),
    rule(String.raw`${LAYER}\.(?:layernorm_after|norm2)\.(weight|bias)`, "blocks.$1.norm2.$2"),
    rule(String.raw`${LAYER}\.(?:intermediate\.dense|mlp\.fc1)\.(weight|bias)`, "blocks.$1.mlp.fc1.$2"),
    rule(String.raw`${LAYER}\.(?:output\.dense|mlp\.fc2)\.(weight|bias)`, "blocks.$1.mlp.fc2.$2"),
    rule(String.raw`${LAYER}\.(?:layer_scale1\.lambda1|lambda_1)`, "blocks.$1.ls1.gamma"),
    rule(String.raw`${LAYER}\.(?:layer_scale2\.lambda1|lambda_2)`, "blocks.$1.ls2.gamma"),
    rule(String.raw`${LAYER}\.attention\.attention\.relative_position_bias\.relative_position_bias_table`, "blocks.$1.attn.relative_position_bias_table"),
    rule(String.raw`encoder\.relative_position_bias\.relative_position_bias_table`, "rel_pos_bias.relative_position_bias_table"),
    rule(String.raw`layernorm\.(weight|bias)`, "norm.$1"),
    rule(String.raw`pooler\.layernorm\.(weight|bias)`, "fc_norm.$1"),
  ],
  qkv: new RegExp(String.raw`^${LAYER.replace("(\\d+)", "(?<layer>\\d+)")}\.attention\.(?:attention\.(?<part>query|key|value)|(?<part2>[qkv])_proj)\.(?<kind>weight|bias)$`),
  unprefixed: [
    [/^(?:classifier|cls_classifier)\.(weight|bias)$/, "head.$1"],
    [/^distillation_classifier\.(weight|bias)$/, "head_dist.$1"],
  ],
  /** Present in real HF checkpoints, not used by a classifier: dropped with a note. */
  ignored: [/^pooler\.dense\.(weight|bias)$/, /^embeddings\.mask_token$/, /^embeddings\.position_ids$/, /relative_position_index$/],
  refused: [
    [/\.mlp\.weights_(in|out)\./, "DINOv2's SwiGLU feed-forward (use_swiglu_ffn: true) is not supported"],
  ],
};

export function isHfStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (/^(?:(?:vit|deit|dinov2|dinov2_with_registers|vit_msn|beit|data2vec_vision)\.)?embeddings\.patch_embeddings\.projection\.weight$/.test(k)) return true;
  return false;
}

/** Maps an HF state dict to vitlens params, concatenating query/key/value into one qkv per block. */
export function fromHf(state: Map<string, Tensor>, file: string): MappedState {
  return { ...applyKeyRules(state, file, HF_RULES), family: "HF" };
}

/** The HF families vitlens writes: the backbone prefix of their classifiers and their block names. */
export type HfFamily = "vit" | "deit" | "dinov2" | "dinov2_with_registers" | "beit";

/**
 * vitlens params -> HF names of `family` (the backbone under the family's prefix and its
 * classifier names for a classifier, a bare backbone otherwise). DINOv2 blocks without a layer
 * scale get λ = 1 (what their function is without one); BEiT's zero key bias is left out.
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
        if (family === "beit" && part === "key" && qkv[2] === "bias") return;
        out.set(`${prefix}encoder.layer.${qkv[1]}.attention.attention.${part}.${qkv[2]}`, sliceRows(t, i * rows, rows));
      });
      if (dinov2 && qkv[2] === "weight" && !params.has(`blocks.${qkv[1]}.ls1.gamma`)) {
        const ones = { data: new Float32Array(t.shape[1]).fill(1), shape: [t.shape[1]] };
        for (const s of [1, 2]) out.set(`${prefix}encoder.layer.${qkv[1]}.layer_scale${s}.lambda1`, ones);
      }
      continue;
    }
    if (name.startsWith("head.") || name.startsWith("head_dist.")) {
      const distilled = params.has("head_dist.weight");
      out.set(name.replace(/^head\./, distilled ? "cls_classifier." : "classifier.").replace(/^head_dist\./, "distillation_classifier."), t);
      continue;
    }
    out.set(prefix + hfName(name, family), t);
  }
  return out;
}

function hfName(name: string, family: HfFamily): string {
  const dinov2 = family.startsWith("dinov2");
  const beit = family === "beit";
  const inverse: Array<[RegExp, string]> = [
    [/^cls_token$/, "embeddings.cls_token"],
    [/^dist_token$/, "embeddings.distillation_token"],
    [/^reg_token$/, "embeddings.register_tokens"],
    [/^pos_embed$/, "embeddings.position_embeddings"],
    [/^patch_embed\.proj\.(weight|bias)$/, "embeddings.patch_embeddings.projection.$1"],
    [/^blocks\.(\d+)\.norm1\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.norm1.$2" : "encoder.layer.$1.layernorm_before.$2"],
    [/^blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, "encoder.layer.$1.attention.output.dense.$2"],
    [/^blocks\.(\d+)\.attn\.relative_position_bias_table$/, "encoder.layer.$1.attention.attention.relative_position_bias.relative_position_bias_table"],
    [/^rel_pos_bias\.relative_position_bias_table$/, "encoder.relative_position_bias.relative_position_bias_table"],
    [/^blocks\.(\d+)\.norm2\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.norm2.$2" : "encoder.layer.$1.layernorm_after.$2"],
    [/^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.mlp.fc1.$2" : "encoder.layer.$1.intermediate.dense.$2"],
    [/^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$/, dinov2 ? "encoder.layer.$1.mlp.fc2.$2" : "encoder.layer.$1.output.dense.$2"],
    [/^blocks\.(\d+)\.ls([12])\.gamma$/, beit ? "encoder.layer.$1.lambda_$2" : "encoder.layer.$1.layer_scale$2.lambda1"],
    [/^norm\.(weight|bias)$/, "layernorm.$1"],
    [/^fc_norm\.(weight|bias)$/, "pooler.layernorm.$1"],
  ];
  const hit = inverse.find(([re]) => re.test(name));
  if (!hit) throw new Error(`toHf: no HF ${family} name for parameter ${name}`);
  return name.replace(hit[0], hit[1]);
}
