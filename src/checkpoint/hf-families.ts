import { VitlensError } from "../errors.js";
import { dropUndefined, finiteNumber, numberPair } from "../io/json-values.js";
import type { ViTConfig } from "../models/vit-config.js";
import { ACTIVATIONS, activationNamed } from "../nn/activation.js";
import { UNSUPPORTED_FAMILIES } from "./family-refusals.js";

/*
 * HF transformers' ViT families by model_type: what each one's config.json says about the
 * architecture, and each family's conventions where the config is silent (transformers'
 * defaults, e.g. DINOv2's LayerNorm eps 1e-6, CLIP's quick_gelu). The weights' names and
 * shapes say the rest (config.ts: inferConfig).
 */
export const HF_FAMILIES = ["vit", "deit", "dinov2", "dinov2_with_registers", "vit_msn", "beit", "data2vec-vision", "clip", "clip_vision_model"] as const;
export type HfModelType = (typeof HF_FAMILIES)[number];

/** Families vitlens does not compute, refused by name with what they have that vitlens lacks. */
const NOT_SUPPORTED: Record<string, string> = {
  eva: UNSUPPORTED_FAMILIES.eva,
  siglip: UNSUPPORTED_FAMILIES.siglip,
  siglip_vision_model: "SigLIP's vision tower (no CLS token, an attention-pooling head)",
  swin: UNSUPPORTED_FAMILIES.swin,
  swinv2: "Swin V2 (windowed attention, patch merging)",
  convnext: "ConvNeXt (a convolutional network, not a ViT)",
  levit: "LeViT (convolutional stages, attention biases)",
  mobilevit: "MobileViT (convolutions around the transformer)",
  pvt: "PVT (spatial-reduction attention, stages)",
  vit_hybrid: "ViT-hybrid (a ResNet stem)",
  vitdet: "ViTDet (windowed attention, relative positions)",
  hiera: UNSUPPORTED_FAMILIES.hiera,
  ijepa: "I-JEPA (no CLS token; its predictor is not a classifier)",
  blip: "BLIP (a captioner: vitlens caption --model DIR)",
};

const FAMILY_NAMES: Record<HfModelType, string> = {
  vit: "HF ViT", deit: "HF DeiT", dinov2: "HF DINOv2", dinov2_with_registers: "HF DINOv2 with registers", vit_msn: "HF ViT-MSN",
  beit: "HF BEiT", "data2vec-vision": "HF Data2Vec-vision", clip: "HF CLIP (vision tower)", clip_vision_model: "HF CLIP vision",
};

const EPS: Record<HfModelType, number> = {
  vit: 1e-12, deit: 1e-12, dinov2: 1e-6, dinov2_with_registers: 1e-6, vit_msn: 1e-6, beit: 1e-12, "data2vec-vision": 1e-12, clip: 1e-5, clip_vision_model: 1e-5,
};

export function hfModelType(j: Record<string, unknown>, file: string): HfModelType {
  const type = j.model_type === undefined ? "vit" : String(j.model_type);
  if ((HF_FAMILIES as readonly string[]).includes(type)) return type as HfModelType;
  const what = NOT_SUPPORTED[type];
  throw new VitlensError(what
    ? `${file}: model_type "${type}": ${what} is not supported`
    : `${file}: model_type "${type}" is not a ViT family vitlens reads (${HF_FAMILIES.join(", ")})`);
}

export const familyName = (t: HfModelType): string => FAMILY_NAMES[t];

/** The architecture an HF config.json records, with the family's defaults where it is silent. */
export function hfConfigHints(json: Record<string, unknown>, file: string): { hints: Partial<ViTConfig>; type: HfModelType } {
  const type = hfModelType(json, file);
  // a full CLIPModel keeps its vision tower's settings under vision_config
  const j = type === "clip" ? ((json.vision_config ?? {}) as Record<string, unknown>) : json;
  const act = j.hidden_act ?? (type.startsWith("clip") ? "quick_gelu" : undefined);
  const activation = act === undefined ? undefined : activationNamed(String(act));
  if (activation === null) {
    throw new VitlensError(`${file}: hidden_act "${String(act)}" is not an activation vitlens has (${ACTIVATIONS.join(", ")}; HF's gelu_new and gelu_pytorch_tanh are gelu_tanh)`);
  }
  if (j.use_swiglu_ffn === true) throw new VitlensError(`${file}: DINOv2 with use_swiglu_ffn (a SwiGLU feed-forward) is not supported`);
  const hidden = finiteNumber(j.hidden_size);
  const mlpRatio = finiteNumber(j.mlp_ratio);
  const hints: Partial<ViTConfig> = {
    hiddenSize: hidden,
    numLayers: finiteNumber(j.num_hidden_layers),
    numHeads: finiteNumber(j.num_attention_heads),
    mlpSize: finiteNumber(j.intermediate_size) ?? (mlpRatio && hidden ? Math.round(mlpRatio * hidden) : undefined),
    patchSize: finiteNumber(j.patch_size),
    imageSize: numberPair(j.image_size),
    numChannels: finiteNumber(j.num_channels),
    layerNormEps: finiteNumber(j.layer_norm_eps) ?? EPS[type],
    qkvBias: typeof j.qkv_bias === "boolean" ? j.qkv_bias : undefined,
    activation,
    hiddenDropout: finiteNumber(j.hidden_dropout_prob),
    attentionDropout: finiteNumber(j.attention_probs_dropout_prob),
  };
  if (type === "dinov2" || type === "dinov2_with_registers") {
    // Dinov2Embeddings.interpolate_pos_encoding: F.interpolate(bicubic), antialias only with registers
    hints.posEmbedResample = type === "dinov2" ? "bicubic" : "bicubic-antialias";
    // registers are inserted after the positions are added: the positions cover CLS and the patches
    if (type === "dinov2_with_registers") hints.posEmbedTokens = "cls+patches";
  }
  if (type === "beit" || type === "data2vec-vision") hints.pool = j.use_mean_pooling === false ? "cls" : "avg";
  return { hints: dropUndefined(hints), type };
}

/** Whether the family interpolates its position embeddings to any input (DINOv2, BEiT); HF ViT, DeiT, CLIP and MSN only when asked, and refuse another size otherwise. */
export function interpolatesPositions(type: HfModelType | undefined): boolean {
  return type === "dinov2" || type === "dinov2_with_registers" || type === "beit" || type === "data2vec-vision";
}

