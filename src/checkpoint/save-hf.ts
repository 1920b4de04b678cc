import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import type { ViT } from "../models/vit.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { toHf } from "./keymap-hf.js";
import { writeSafetensors } from "./safetensors.js";
import { HF_ACTIVATION } from "../nn/activation.js";

const RESAMPLE_CODES = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3 } as const;

/** HF transformers' ViTConfig for this model: what `ViTForImageClassification.from_pretrained` reads. */
export function hfConfigJson(model: ViT, labels: string[]): Record<string, unknown> {
  const c = model.config;
  const [h, w] = c.imageSize;
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  return {
    architectures: [c.numClasses > 0 ? "ViTForImageClassification" : "ViTModel"],
    model_type: "vit",
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.mlpSize,
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
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), toHf(model.params));
  writeFileAtomic(join(dir, "config.json"), [JSON.stringify(hfConfigJson(model, labels), null, 2) + "\n"]);
  writeFileAtomic(join(dir, "preprocessor_config.json"), [JSON.stringify(hfPreprocessorJson(preprocess), null, 2) + "\n"]);
}
