import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import type { ViT } from "../models/vit.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { toHf, type HfFamily } from "./keymap-hf.js";
import { VitlensError } from "../errors.js";
import type { ViTConfig } from "../models/vit-config.js";
import { writeSafetensors } from "./safetensors.js";
import { HF_ACTIVATION } from "../nn/activation.js";

const RESAMPLE_CODES = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3 } as const;

/**
 * The transformers family that computes this model's function, or why none does: ViT, DeiT
 * (distillation token), DINOv2 (layer scale, the [CLS, mean] classifier; a missing layer scale is
 * λ = 1) and DINOv2 with registers (registers without positions).
 */
export function hfFamilyFor(c: ViTConfig): { family: HfFamily } | { reason: string } {
  const cover = c.posEmbedTokens ?? "all";
  const regs = c.registerTokens ?? 0;
  const dinov2Like = c.layerScale || c.pool === "cls+avg" || regs > 0;
  if (cover === "patches") return { reason: "position embeddings on the patches only (timm no_embed_class) have no transformers equivalent" };
  if (regs > 0 && cover === "all") return { reason: "register tokens with their own position embeddings (timm reg_tokens) have no transformers equivalent (DINOv2's registers have none)" };
  if (c.distillationToken) {
    return dinov2Like ? { reason: "a distillation token beside layer scale, registers or mean pooling has no transformers equivalent" } : { family: "deit" };
  }
  if (!dinov2Like) return { family: "vit" };
  if (c.numClasses > 0 && c.pool !== "cls+avg") return { reason: "layer scale or registers with a CLS-only head: transformers' Dinov2ForImageClassification reads [CLS, mean of patches]" };
  return { family: regs > 0 ? "dinov2_with_registers" : "dinov2" };
}

const ARCHITECTURES: Record<HfFamily, [string, string, string?]> = {
  vit: ["ViTModel", "ViTForImageClassification"],
  deit: ["DeiTModel", "DeiTForImageClassification", "DeiTForImageClassificationWithTeacher"],
  dinov2: ["Dinov2Model", "Dinov2ForImageClassification"],
  dinov2_with_registers: ["Dinov2WithRegistersModel", "Dinov2WithRegistersForImageClassification"],
  beit: ["BeitModel", "BeitForImageClassification"],
};

/** HF transformers' config for this model: what `AutoModel(ForImageClassification).from_pretrained` reads. */
export function hfConfigJson(model: ViT, labels: string[]): Record<string, unknown> {
  const c = model.config;
  const found = hfFamilyFor(c);
  if ("reason" in found) throw new VitlensError(`this model cannot be written in the HF layout: ${found.reason}; write it with --to timm`);
  const { family } = found;
  const [h, w] = c.imageSize;
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  const [bare, classifier, withTeacher] = ARCHITECTURES[family];
  const dinov2 = family.startsWith("dinov2");
  return {
    architectures: [c.numClasses === 0 ? bare : c.distillationHead ? withTeacher : classifier],
    model_type: family,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    ...(dinov2
      ? { mlp_ratio: c.mlpSize / c.hiddenSize, layerscale_value: 1.0, drop_path_rate: 0, use_swiglu_ffn: false, ...(family === "dinov2_with_registers" ? { num_register_tokens: c.registerTokens } : {}) }
      : { intermediate_size: c.mlpSize }),
    hidden_act: HF_ACTIVATION[c.activation ?? "gelu"],
    hidden_dropout_prob: c.hiddenDropout,
    attention_probs_dropout_prob: c.attentionDropout,
    initializer_range: 0.02,
    layer_norm_eps: c.layerNormEps,
    image_size: h === w ? h : [h, w],
    patch_size: c.patchSize,
    num_channels: c.numChannels,
    qkv_bias: c.qkvBias,
    encoder_stride: c.patchSize,
    ...(c.numClasses > 0 ? { id2label, label2id: Object.fromEntries(labels.map((l, i) => [l, i])) } : {}),
    torch_dtype: "float32",
  };
}

export function hfPreprocessorJson(p: PreprocessConfig): Record<string, unknown> {
  return {
    image_processor_type: "ViTImageProcessor",
    do_resize: true,
    size: { height: p.size[0], width: p.size[1] },
    resample: RESAMPLE_CODES[p.resample],
    do_rescale: p.rescaleFactor !== 1,
    rescale_factor: p.rescaleFactor,
    do_normalize: true,
    image_mean: p.mean,
    image_std: p.std,
  };
}

/** Writes config.json, model.safetensors (HF key names) and preprocessor_config.json, each atomically. */
export function saveHfModel(dir: string, model: ViT, preprocess: PreprocessConfig, labels: string[]): void {
  const config = hfConfigJson(model, labels); // refuses a model no transformers class computes, before writing anything
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), toHf(model.params, config.model_type as HfFamily));
  writeFileAtomic(join(dir, "config.json"), [JSON.stringify(config, null, 2) + "\n"]);
  writeFileAtomic(join(dir, "preprocessor_config.json"), [JSON.stringify(hfPreprocessorJson(preprocess), null, 2) + "\n"]);
}
