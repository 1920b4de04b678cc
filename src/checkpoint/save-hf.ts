import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import type { ViT } from "../models/vit.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { toHf, type HfFamily } from "./keymap-hf.js";
import { toClip } from "./keymap-clip.js";
import { VitlensError } from "../errors.js";
import { attentionSize, gridSize, type ViTConfig } from "../models/vit-config.js";
import { writeSafetensors } from "./safetensors.js";
import { HF_ACTIVATION } from "../nn/activation.js";

const RESAMPLE_CODES = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3 } as const;

/** What vitlens writes in the HF layout: the BERT-style families, and CLIP's vision tower ("clip" is CLIPForImageClassification). */
export type HfWritable = HfFamily | "clip_vision_model" | "clip";

/**
 * The transformers class that computes this model's function, or the option no transformers
 * class has: ViT, DeiT (distillation token), DINOv2 (layer scale, the [CLS, mean] classifier; a
 * missing layer scale is λ = 1), DINOv2 with registers (registers without positions), BEiT
 * (relative position bias, a key without bias, mean pooling with the pooler's norm) and CLIP's
 * vision tower (norm_pre, no patch bias; CLIPForImageClassification averages un-normed patches).
 */
export function hfFamilyFor(c: ViTConfig): { family: HfWritable } | { reason: string } {
  const cover = c.posEmbedTokens ?? "all";
  const regs = c.registerTokens ?? 0;
  const pool = c.pool ?? "cls";
  const finalNorm = c.finalNorm ?? "tokens";
  const none = (what: string) => ({ reason: `${what}: no transformers class computes it` });
  if (c.norm === "post") return none("post-norm blocks (nn.TransformerEncoder's norm_first=False)");
  if (c.patchNorm) return none("a LayerNorm around the patch projection (vit-pytorch)");
  if (attentionSize(c) !== c.hiddenSize) return none("an attention width apart from the model width (vit-pytorch's dim_head)");
  if (!(c.classToken ?? true)) return none("a ViT without a CLS token (timm class_token=False)");
  if (pool === "avg-all") return none("averaging every token, CLS included (older vit-pytorch pool='mean')");
  if (finalNorm === "both") return none("a final norm on the tokens and another on the pooled vector");
  if (cover === "patches") return none("position embeddings on the patches only (timm no_embed_class)");
  if (regs > 0 && cover === "all") return none("register tokens with their own position embeddings (timm reg_tokens; DINOv2's registers have none)");
  if (c.preNorm || c.patchBias === false) {
    const clip = c.preNorm && c.patchBias === false && c.qkvBias && !c.layerScale && !c.relativePositionBias && !c.distillationToken && regs === 0;
    if (clip && c.numClasses === 0 && pool === "cls" && finalNorm === "tokens") return { family: "clip_vision_model" };
    if (clip && c.numClasses > 0 && pool === "avg" && finalNorm === "none") return { family: "clip" };
    return none("a norm before block 0 or a patch projection without bias, outside CLIP's vision tower and CLIPForImageClassification");
  }
  if (c.relativePositionBias || c.keyBias === false || finalNorm === "pooled" || pool === "avg" || finalNorm === "none") {
    const heads = (pool === "avg" && finalNorm === "pooled") || (pool === "cls" && finalNorm === "tokens");
    if (c.keyBias === false && c.qkvBias && heads && !c.distillationToken && regs === 0 && cover !== "cls+patches") {
      const [gh, gw] = gridSize(c);
      if (c.relativePositionBias && gh !== gw) {
        return { reason: `relative position bias on a ${gh}x${gw} patch grid: transformers' BeitRelativePositionBias reads a non-square grid's table transposed on every forward, so it would not compute this model` };
      }
      if (gh !== gw && c.posEmbedTokens !== "none") {
        return { reason: `BEiT position embeddings on a ${gh}x${gw} patch grid: transformers' BeitEmbeddings reshapes them as a square grid, which fails at load` };
      }
      return { family: "beit" };
    }
    return none("mean pooling, a pooled-vector norm or relative position bias outside BEiT (whose key projection has no bias)");
  }
  const dinov2Like = c.layerScale || pool === "cls+avg" || regs > 0;
  if (c.distillationToken) {
    return dinov2Like ? none("a distillation token beside layer scale, registers or mean pooling") : { family: "deit" };
  }
  if (!dinov2Like) return { family: "vit" };
  if (c.numClasses > 0 && pool !== "cls+avg") return { reason: "layer scale or registers with a CLS-only head: transformers' Dinov2ForImageClassification reads [CLS, mean of patches]" };
  return { family: regs > 0 ? "dinov2_with_registers" : "dinov2" };
}

const ARCHITECTURES: Record<HfWritable, [string, string, string?]> = {
  vit: ["ViTModel", "ViTForImageClassification"],
  deit: ["DeiTModel", "DeiTForImageClassification", "DeiTForImageClassificationWithTeacher"],
  dinov2: ["Dinov2Model", "Dinov2ForImageClassification"],
  dinov2_with_registers: ["Dinov2WithRegistersModel", "Dinov2WithRegistersForImageClassification"],
  beit: ["BeitModel", "BeitForImageClassification"],
  clip_vision_model: ["CLIPVisionModel", "CLIPVisionModel"],
  clip: ["CLIPVisionModel", "CLIPForImageClassification"],
};

export function hfFamilyOrRefuse(c: ViTConfig): HfWritable {
  const found = hfFamilyFor(c);
  if ("reason" in found) throw new VitlensError(`this model cannot be written in the HF layout: ${found.reason}; write it with --to timm`);
  return found.family;
}

/** HF transformers' config for this model: what `AutoModel(ForImageClassification).from_pretrained` reads. */
export function hfConfigJson(model: ViT, labels: string[]): Record<string, unknown> {
  const c = model.config;
  const family = hfFamilyOrRefuse(c);
  const [h, w] = c.imageSize;
  const [bare, classifier, withTeacher] = ARCHITECTURES[family];
  const labelMaps = c.numClasses > 0
    ? { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) } : {};
  const common = {
    hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, hidden_act: HF_ACTIVATION[c.activation ?? "gelu"],
    layer_norm_eps: c.layerNormEps, image_size: h === w ? h : [h, w], patch_size: c.patchSize, num_channels: c.numChannels, initializer_range: 0.02,
  };
  const architectures = [c.numClasses === 0 ? bare : c.distillationHead ? withTeacher : classifier];
  if (family === "clip_vision_model" || family === "clip") {
    const vision = { ...common, intermediate_size: c.mlpSize, attention_dropout: c.attentionDropout, model_type: "clip_vision_model" };
    return family === "clip"
      ? { architectures, model_type: "clip", vision_config: vision, ...labelMaps, torch_dtype: "float32" }
      : { architectures, ...vision, torch_dtype: "float32" };
  }
  const dinov2 = family.startsWith("dinov2");
  const beit = family === "beit";
  return {
    architectures,
    model_type: family,
    ...common,
    ...(dinov2
      ? { mlp_ratio: c.mlpSize / c.hiddenSize, layerscale_value: 1.0, drop_path_rate: 0, use_swiglu_ffn: false, ...(family === "dinov2_with_registers" ? { num_register_tokens: c.registerTokens } : {}) }
      : { intermediate_size: c.mlpSize }),
    ...(beit ? {
      use_mean_pooling: (c.pool ?? "cls") === "avg", use_absolute_position_embeddings: (c.posEmbedTokens ?? "all") !== "none",
      use_relative_position_bias: c.relativePositionBias === "layer", use_shared_relative_position_bias: c.relativePositionBias === "shared",
      layer_scale_init_value: c.layerScale ? 0.1 : 0, drop_path_rate: 0,
    } : {}),
    hidden_dropout_prob: c.hiddenDropout,
    attention_probs_dropout_prob: c.attentionDropout,
    qkv_bias: c.qkvBias,
    encoder_stride: c.patchSize,
    ...labelMaps,
    torch_dtype: "float32",
  };
}

/** The image processor that gives vitlens' pixels: ViTImageProcessor's straight resize, or the crop policy of DeiT / CLIP / DINOv2 processors. */
export function hfPreprocessorJson(p: PreprocessConfig): Record<string, unknown> {
  const r = p.resize;
  const base = {
    do_resize: true, resample: RESAMPLE_CODES[p.resample], do_rescale: p.rescaleFactor !== 1, rescale_factor: p.rescaleFactor,
    do_normalize: true, image_mean: p.mean, image_std: p.std,
  };
  if (r.kind === "hf" && r.crop) {
    const size = Array.isArray(r.resize) ? { height: r.resize[0], width: r.resize[1] } : { shortest_edge: r.resize.shortestEdge };
    return { image_processor_type: Array.isArray(r.resize) ? "DeiTImageProcessor" : "BitImageProcessor", ...base, size, do_center_crop: true, crop_size: { height: p.size[0], width: p.size[1] } };
  }
  return { image_processor_type: "ViTImageProcessor", ...base, size: { height: p.size[0], width: p.size[1] } };
}

/** transformers 5 checks config fields' types strictly: a float field must not read back as an int (0 -> 0.0). */
const FLOAT_FIELDS = new Set([
  "hidden_dropout_prob", "attention_probs_dropout_prob", "attention_dropout", "initializer_range", "layer_norm_eps", "layerscale_value",
  "drop_path_rate", "layer_scale_init_value", "initializer_factor",
]);

function pythonJson(config: Record<string, unknown>): string {
  const marked = JSON.stringify(config, (key, v) => (FLOAT_FIELDS.has(key) && typeof v === "number" && Number.isInteger(v) ? `@float:${v}` : v), 2);
  return marked.replace(/"@float:(-?\d+)"/g, "$1.0");
}

/** Writes config.json, model.safetensors (HF key names) and preprocessor_config.json, each atomically. */
export function saveHfModel(dir: string, model: ViT, preprocess: PreprocessConfig, labels: string[]): void {
  const config = hfConfigJson(model, labels); // refuses a model no transformers class computes, before writing anything
  const family = hfFamilyOrRefuse(model.config);
  mkdirSync(dir, { recursive: true });
  const weights = family === "clip" || family === "clip_vision_model" ? toClip(model.params) : toHf(model.params, family);
  // parameters transformers' classes hold and never use at inference, written so it loads without a MISSING report
  const D = model.config.hiddenSize;
  if (family.startsWith("dinov2")) weights.set(`${model.config.numClasses ? `${family}.` : ""}embeddings.mask_token`, { data: new Float32Array(D), shape: [1, D] });
  if (family === "clip") {
    weights.set("vision_model.post_layernorm.weight", { data: new Float32Array(D).fill(1), shape: [D] });
    weights.set("vision_model.post_layernorm.bias", { data: new Float32Array(D), shape: [D] });
  }
  writeSafetensors(join(dir, "model.safetensors"), weights);
  writeFileAtomic(join(dir, "config.json"), [pythonJson(config) + "\n"]);
  writeFileAtomic(join(dir, "preprocessor_config.json"), [JSON.stringify(hfPreprocessorJson(preprocess), null, 2) + "\n"]);
}
