import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { ViT } from "../models/vit.js";
import { toTimm } from "./keymap-timm.js";
import { writeSafetensors } from "./safetensors.js";
import { TIMM_ACTIVATION } from "../nn/activation.js";

/** timm's layout: model.safetensors with timm names and a config.json with pretrained_cfg. */
export function saveTimmModel(dir: string, model: ViT, preprocess: PreprocessConfig, labels: string[]): void {
  const c = model.config;
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), toTimm(model.params));
  const config = {
    // a distilled name makes timm build VisionTransformerDistilled (dist_token, head_dist)
    architecture: c.distillationToken ? `deit_custom_distilled_patch${c.patchSize}_${c.imageSize[0]}` : `vit_custom_patch${c.patchSize}_${c.imageSize[0]}`,
    num_classes: c.numClasses,
    num_features: c.hiddenSize,
    global_pool: "token",
    model_args: {
      embed_dim: c.hiddenSize, depth: c.numLayers, num_heads: c.numHeads, mlp_ratio: c.mlpSize / c.hiddenSize,
      patch_size: c.patchSize, img_size: c.imageSize[0] === c.imageSize[1] ? c.imageSize[0] : c.imageSize, qkv_bias: c.qkvBias,
      ...(c.activation && c.activation !== "gelu" ? { act_layer: TIMM_ACTIVATION[c.activation] } : {}),
      ...(c.registerTokens ? { reg_tokens: c.registerTokens } : {}),
      ...(c.posEmbedTokens === "patches" ? { no_embed_class: true } : {}),
      ...(c.layerScale ? { init_values: 1.0 } : {}),
      layer_norm_eps: c.layerNormEps, // timm itself always uses 1e-6; kept so vitlens round-trips exactly
    },
    pretrained_cfg: {
      input_size: [c.numChannels, ...c.imageSize], interpolation: preprocess.resample === "bilinear" ? "bilinear" : "bicubic",
      mean: preprocess.mean, std: preprocess.std, num_classes: c.numClasses,
      crop_pct: preprocess.resize.kind === "shorter-then-crop" ? preprocess.resize.cropPct : 1.0, label_names: labels,
    },
  };
  writeFileAtomic(join(dir, "config.json"), [JSON.stringify(config, null, 2) + "\n"]);
}
