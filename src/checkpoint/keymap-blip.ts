import { VitlensError } from "../errors.js";
import { concatRows, type Params, type Tensor } from "../tensor.js";
import { applyKeyRules, sliceRows, type KeyRules, type MappedState } from "./keymap-rules.js";

/*
 * Salesforce BLIP captioners as transformers saves them (BlipForConditionalGeneration,
 * modeling_blip.py / modeling_blip_text.py): `vision_model.*`, a pre-norm ViT (fused qkv, a
 * `projection` out, `post_layernorm` on every token), and `text_decoder.*`, a BERT decoder with
 * cross-attention in every layer (`bert.embeddings` word + position + LayerNorm, post-norm layers,
 * `cls.predictions` transform + LayerNorm + a decoder tied to the word embeddings, bias apart).
 * Both map onto vitlens' ViT and caption decoder names, and back.
 */
const VISION: KeyRules = {
  what: "a BLIP vision tower",
  prefix: /^vision_model\./,
  renames: [
    [/^embeddings\.class_embedding$/, "cls_token"],
    [/^embeddings\.patch_embedding\.(weight|bias)$/, "patch_embed.proj.$1"],
    [/^embeddings\.position_embedding$/, "pos_embed"],
    [/^encoder\.layers\.(\d+)\.layer_norm1\.(weight|bias)$/, "blocks.$1.norm1.$2"],
    [/^encoder\.layers\.(\d+)\.self_attn\.qkv\.(weight|bias)$/, "blocks.$1.attn.qkv.$2"],
    [/^encoder\.layers\.(\d+)\.self_attn\.projection\.(weight|bias)$/, "blocks.$1.attn.proj.$2"],
    [/^encoder\.layers\.(\d+)\.layer_norm2\.(weight|bias)$/, "blocks.$1.norm2.$2"],
    [/^encoder\.layers\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$/, "blocks.$1.mlp.$2.$3"],
    [/^post_layernorm\.(weight|bias)$/, "norm.$1"],
  ],
};

const L = String.raw`^bert\.encoder\.layer\.(\d+)\.`;
const TEXT: KeyRules = {
  what: "a BLIP text decoder",
  prefix: /^text_decoder\./,
  renames: [
    [/^bert\.embeddings\.word_embeddings\.weight$/, "decoder.embed_tokens.weight"],
    [/^bert\.embeddings\.position_embeddings\.weight$/, "decoder.embed_positions.weight"],
    [/^bert\.embeddings\.LayerNorm\.(weight|bias)$/, "decoder.embed_norm.$1"],
    [new RegExp(`${L}attention\\.output\\.dense\\.(weight|bias)$`), "decoder.layers.$1.self_attn.proj.$2"],
    [new RegExp(`${L}attention\\.output\\.LayerNorm\\.(weight|bias)$`), "decoder.layers.$1.norm1.$2"],
    [new RegExp(`${L}crossattention\\.self\\.query\\.(weight|bias)$`), "decoder.layers.$1.cross_attn.q.$2"],
    [new RegExp(`${L}crossattention\\.self\\.(key|value)\\.(weight|bias)$`), "decoder.layers.$1.cross_attn.$2.$3"],
    [new RegExp(`${L}crossattention\\.output\\.dense\\.(weight|bias)$`), "decoder.layers.$1.cross_attn.proj.$2"],
    [new RegExp(`${L}crossattention\\.output\\.LayerNorm\\.(weight|bias)$`), "decoder.layers.$1.norm2.$2"],
    [new RegExp(`${L}intermediate\\.dense\\.(weight|bias)$`), "decoder.layers.$1.mlp.fc1.$2"],
    [new RegExp(`${L}output\\.dense\\.(weight|bias)$`), "decoder.layers.$1.mlp.fc2.$2"],
    [new RegExp(`${L}output\\.LayerNorm\\.(weight|bias)$`), "decoder.layers.$1.norm3.$2"],
    [/^cls\.predictions\.transform\.dense\.(weight|bias)$/, "decoder.head_transform.dense.$1"],
    [/^cls\.predictions\.transform\.LayerNorm\.(weight|bias)$/, "decoder.head_transform.norm.$1"],
    [/^cls\.predictions\.bias$/, "decoder.lm_head.bias"],
    [/^cls\.predictions\.decoder\.weight$/, "decoder.lm_head.weight"],
    [/^cls\.predictions\.decoder\.bias$/, "decoder.lm_head.decoder_bias"],
  ],
  qkv: new RegExp(`${L.replace("(\\d+)", "(?<layer>\\d+)")}attention\\.self\\.(?<part>query|key|value)\\.(?<kind>weight|bias)$`),
  qkvName: (layer, kind) => `decoder.layers.${layer}.self_attn.qkv.${kind}`,
  ignored: [/^bert\.embeddings\.position_ids$/],
};

export function isBlipStateDict(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.startsWith("text_decoder.bert.")) return true;
  return false;
}

/** A BLIP state dict: the vision tower under vitlens' ViT names, the text decoder under its decoder names (self-attention's q/k/v and cross-attention's k/v fused). */
export function fromBlip(state: Map<string, Tensor>, file: string): { vision: MappedState; text: MappedState; ignored: string[] } {
  const vision = new Map<string, Tensor>();
  const text = new Map<string, Tensor>();
  const ignored: string[] = [];
  for (const [k, t] of state) {
    if (k.startsWith("vision_model.")) vision.set(k, t);
    else if (k.startsWith("text_decoder.")) text.set(k, t);
    else ignored.push(k); // BlipForConditionalGeneration holds nothing else; other BLIP heads (ITM, VQA) are not captioners
  }
  const v = applyKeyRules(vision, file, VISION);
  const d = applyKeyRules(text, file, TEXT);
  // cross-attention keys and values, stored apart, fused into one (2D, E) projection
  for (const name of [...d.params.keys()]) {
    const m = /^decoder\.layers\.(\d+)\.cross_attn\.key\.(weight|bias)$/.exec(name);
    if (!m) continue;
    const value = d.params.get(`decoder.layers.${m[1]}.cross_attn.value.${m[2]}`);
    if (!value) throw new VitlensError(`${file}: text_decoder.bert.encoder.layer.${m[1]}.crossattention.self.value.${m[2]} is missing`);
    d.params.set(`decoder.layers.${m[1]}.cross_attn.kv.${m[2]}`, concatRows([d.params.get(name)!, value]));
    d.params.delete(name);
    d.params.delete(`decoder.layers.${m[1]}.cross_attn.value.${m[2]}`);
  }
  return { vision: v, text: d, ignored: [...ignored, ...v.ignored, ...d.ignored] };
}

/** vitlens' encoder and decoder params -> BLIP's names (the LM head's weight left out when tied, as transformers saves it). */
export function toBlip(encoder: Params, decoder: Params): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const vision: Array<[RegExp, string]> = [
    [/^cls_token$/, "embeddings.class_embedding"], [/^patch_embed\.proj\.(weight|bias)$/, "embeddings.patch_embedding.$1"], [/^pos_embed$/, "embeddings.position_embedding"],
    [/^blocks\.(\d+)\.norm1\.(weight|bias)$/, "encoder.layers.$1.layer_norm1.$2"], [/^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/, "encoder.layers.$1.self_attn.qkv.$2"],
    [/^blocks\.(\d+)\.attn\.proj\.(weight|bias)$/, "encoder.layers.$1.self_attn.projection.$2"], [/^blocks\.(\d+)\.norm2\.(weight|bias)$/, "encoder.layers.$1.layer_norm2.$2"],
    [/^blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)$/, "encoder.layers.$1.mlp.$2.$3"], [/^norm\.(weight|bias)$/, "post_layernorm.$1"],
  ];
  for (const [name, t] of encoder) {
    const hit = vision.find(([re]) => re.test(name));
    if (!hit) throw new Error(`toBlip: no BLIP vision name for ${name}`);
    out.set(`vision_model.${name.replace(hit[0], hit[1])}`, t);
  }
  const text: Array<[RegExp, string]> = [
    [/^decoder\.embed_tokens\.weight$/, "bert.embeddings.word_embeddings.weight"], [/^decoder\.embed_positions\.weight$/, "bert.embeddings.position_embeddings.weight"],
    [/^decoder\.embed_norm\.(weight|bias)$/, "bert.embeddings.LayerNorm.$1"],
    [/^decoder\.layers\.(\d+)\.self_attn\.proj\.(weight|bias)$/, "bert.encoder.layer.$1.attention.output.dense.$2"],
    [/^decoder\.layers\.(\d+)\.norm1\.(weight|bias)$/, "bert.encoder.layer.$1.attention.output.LayerNorm.$2"],
    [/^decoder\.layers\.(\d+)\.cross_attn\.q\.(weight|bias)$/, "bert.encoder.layer.$1.crossattention.self.query.$2"],
    [/^decoder\.layers\.(\d+)\.cross_attn\.proj\.(weight|bias)$/, "bert.encoder.layer.$1.crossattention.output.dense.$2"],
    [/^decoder\.layers\.(\d+)\.norm2\.(weight|bias)$/, "bert.encoder.layer.$1.crossattention.output.LayerNorm.$2"],
    [/^decoder\.layers\.(\d+)\.mlp\.fc1\.(weight|bias)$/, "bert.encoder.layer.$1.intermediate.dense.$2"],
    [/^decoder\.layers\.(\d+)\.mlp\.fc2\.(weight|bias)$/, "bert.encoder.layer.$1.output.dense.$2"],
    [/^decoder\.layers\.(\d+)\.norm3\.(weight|bias)$/, "bert.encoder.layer.$1.output.LayerNorm.$2"],
    [/^decoder\.head_transform\.dense\.(weight|bias)$/, "cls.predictions.transform.dense.$1"],
    [/^decoder\.head_transform\.norm\.(weight|bias)$/, "cls.predictions.transform.LayerNorm.$1"],
    [/^decoder\.lm_head\.bias$/, "cls.predictions.bias"], [/^decoder\.lm_head\.weight$/, "cls.predictions.decoder.weight"],
  ];
  for (const [name, t] of decoder) {
    const qkv = /^decoder\.layers\.(\d+)\.self_attn\.qkv\.(weight|bias)$/.exec(name);
    const kv = /^decoder\.layers\.(\d+)\.cross_attn\.kv\.(weight|bias)$/.exec(name);
    if (qkv) {
      const rows = t.shape[0] / 3;
      ["query", "key", "value"].forEach((p, i) => out.set(`text_decoder.bert.encoder.layer.${qkv[1]}.attention.self.${p}.${qkv[2]}`, sliceRows(t, i * rows, rows)));
    } else if (kv) {
      const rows = t.shape[0] / 2;
      ["key", "value"].forEach((p, i) => out.set(`text_decoder.bert.encoder.layer.${kv[1]}.crossattention.self.${p}.${kv[2]}`, sliceRows(t, i * rows, rows)));
    } else {
      const hit = text.find(([re]) => re.test(name));
      if (!hit) throw new Error(`toBlip: no BLIP text name for ${name}`);
      out.set(`text_decoder.${name.replace(hit[0], hit[1])}`, t);
    }
  }
  return out;
}
