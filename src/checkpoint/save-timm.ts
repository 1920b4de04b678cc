import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { attentionSize, type ViTConfig } from "../models/vit-config.js";
import type { ViT } from "../models/vit.js";
import { toTimm } from "./keymap-timm.js";
import { writeSafetensors } from "./safetensors.js";
import { TIMM_ACTIVATION } from "../nn/activation.js";
import type { Params, Tensor } from "../tensor.js";

/** The architecture options of a ViTConfig, as config.json's `vitlens` entry keeps them (read back by timm-config.ts). */
export const VITLENS_OPTIONS = [
  "classToken", "distillationToken", "distillationHead", "registerTokens", "posEmbedTokens", "posEmbedResample", "patchBias", "patchNorm", "preNorm",
  "norm", "layerScale", "relativePositionBias", "pool", "finalNorm", "keyBias", "attentionSize", "activation", "layerNormEps",
] as const;

/** What timm itself cannot build from this model, or null: timm's VisionTransformer, or its Beit for relative position bias. */
export function timmCannotBuild(c: ViTConfig): string | null {
  if (c.norm === "post") return "post-norm blocks";
  if (c.patchNorm === "in+out") return "a LayerNorm before the patch projection (vit-pytorch)";
  if (attentionSize(c) !== c.hiddenSize) return "an attention width apart from the model width";
  if ((c.pool ?? "cls") === "cls+avg") return "DINOv2's [CLS, mean of patches] head";
  if (c.posEmbedTokens === "cls+patches") return "registers without position embeddings beside a CLS with one (HF DINOv2's)";
  if (c.finalNorm === "both") return "a final norm on the tokens and another on the pooled vector";
  if (c.relativePositionBias && (c.registerTokens || c.distillationToken || !(c.classToken ?? true))) return "relative position bias beside other prefix tokens";
  return null;
}

const isBeit = (c: ViTConfig) => !!c.relativePositionBias && c.keyBias === false;

/**
 * timm's layout: model.safetensors with timm names and a config.json with architecture,
 * model_args and pretrained_cfg, which timm.create_model builds from where timm has the options;
 * a `vitlens` entry records every option so vitlens reads the model back exactly. Returns a note
 * when timm itself cannot build it.
 */
export function saveTimmModel(dir: string, model: ViT, preprocess: PreprocessConfig, labels: string[]): string | null {
  const c = model.config;
  mkdirSync(dir, { recursive: true });
  const beit = isBeit(c);
  writeSafetensors(join(dir, "model.safetensors"), beit ? toTimmBeit(model.params) : toTimm(model.params));
  const pool = c.pool ?? "cls";
  const finalNorm = c.finalNorm ?? "tokens";
  const size = c.imageSize[0] === c.imageSize[1] ? c.imageSize[0] : c.imageSize;
  const common = {
    embed_dim: c.hiddenSize, depth: c.numLayers, num_heads: c.numHeads, mlp_ratio: c.mlpSize / c.hiddenSize, patch_size: c.patchSize, img_size: size,
    in_chans: c.numChannels,
  };
  const args = beit
    ? { ...common, use_abs_pos_emb: (c.posEmbedTokens ?? "all") !== "none", use_rel_pos_bias: c.relativePositionBias === "layer", use_shared_rel_pos_bias: c.relativePositionBias === "shared", init_values: c.layerScale ? 0.1 : null }
    : {
      ...common, qkv_bias: c.qkvBias, class_token: c.classToken ?? true, global_pool: pool === "cls" ? "token" : "avg",
      fc_norm: finalNorm === "pooled", ...(finalNorm === "none" ? { final_norm: false } : {}),
      ...(pool === "avg-all" ? { pool_include_prefix: true } : {}),
      ...(c.activation && c.activation !== "gelu" ? { act_layer: TIMM_ACTIVATION[c.activation] } : {}),
      ...(c.registerTokens ? { reg_tokens: c.registerTokens } : {}),
      ...(c.posEmbedTokens === "patches" ? { no_embed_class: true } : {}),
      ...(c.posEmbedTokens === "none" ? { pos_embed: "none" } : {}),
      ...(c.layerScale ? { init_values: 1.0 } : {}),
      ...(c.preNorm ? { pre_norm: true } : {}),
    };
  const config = {
    // a distilled name makes timm build VisionTransformerDistilled (dist_token, head_dist)
    architecture: beit ? `beit_custom_patch${c.patchSize}_${c.imageSize[0]}` : c.distillationToken ? `deit_custom_distilled_patch${c.patchSize}_${c.imageSize[0]}` : `vit_custom_patch${c.patchSize}_${c.imageSize[0]}`,
    num_classes: c.numClasses,
    num_features: c.hiddenSize,
    global_pool: pool === "cls" ? "token" : "avg",
    model_args: args,
    // every option as vitlens computes it (timm's LayerNorm is eps 1e-6 unless its architecture says otherwise)
    vitlens: Object.fromEntries(VITLENS_OPTIONS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])),
    pretrained_cfg: {
      input_size: [c.numChannels, ...c.imageSize], interpolation: preprocess.resample === "bilinear" ? "bilinear" : "bicubic",
      mean: preprocess.mean, std: preprocess.std, num_classes: c.numClasses,
      crop_pct: preprocess.resize.kind === "shorter-then-crop" ? preprocess.resize.cropPct : 1.0, label_names: labels,
    },
  };
  writeFileAtomic(join(dir, "config.json"), [JSON.stringify(config, null, 2) + "\n"]);
  const cannot = timmCannotBuild(c);
  return cannot ? `timm cannot build this model (${cannot}); vitlens reads it back from config.json's vitlens entry` : null;
}

/** timm's Beit names: q_bias / v_bias beside a bias-free qkv, gamma_1 / gamma_2. */
function toTimmBeit(params: Params): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of params) {
    const bias = /^blocks\.(\d+)\.attn\.qkv\.bias$/.exec(name);
    const ls = /^blocks\.(\d+)\.ls([12])\.gamma$/.exec(name);
    if (bias) {
      const A = t.data.length / 3;
      out.set(`blocks.${bias[1]}.attn.q_bias`, { data: t.data.slice(0, A), shape: [A] });
      out.set(`blocks.${bias[1]}.attn.v_bias`, { data: t.data.slice(2 * A), shape: [A] });
    } else if (ls) out.set(`blocks.${ls[1]}.gamma_${ls[2]}`, t);
    else out.set(name, t);
  }
  return out;
}
