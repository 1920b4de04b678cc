import { VitlensError } from "../errors.js";
import type { Activation } from "../nn/activation.js";

/** Everything that fixes a ViT's shapes and numerics. Field names follow vitlens; HF names are mapped in checkpoint/. */
export interface ViTConfig {
  hiddenSize: number; // D
  numLayers: number;
  numHeads: number;
  mlpSize: number;
  patchSize: number;
  /** (height, width) of the input; a remainder beyond whole patches is dropped, as a stride-p convolution does */
  imageSize: [number, number];
  numChannels: number;
  layerNormEps: number;
  qkvBias: boolean;
  /** false: BEiT's q/v-only bias (the key bias stays zero, never trained) */
  keyBias?: boolean;
  /** heads x head width when it differs from the model width (vit-pytorch's dim_head) */
  attentionSize?: number;
  /** the MLP's activation; GELU (erf) when absent */
  activation?: Activation;
  /** a CLS token first (default); false: patches only (timm class_token=False) */
  classToken?: boolean;
  /** DeiT's distillation token after CLS */
  distillationToken?: boolean;
  /** its own head `head_dist`; logits are the mean of both heads (timm's distilled models, HF's ...WithTeacher) */
  distillationHead?: boolean;
  /** register tokens after CLS (and the distillation token): DINOv2 with registers, timm reg_tokens */
  registerTokens?: number;
  /**
   * Which tokens the position embedding covers: every token (timm, DeiT), CLS and patches but not
   * the registers (HF DINOv2 with registers), the patches only (timm no_embed_class), or none
   * (BEiT with relative position bias only).
   */
  posEmbedTokens?: "all" | "cls+patches" | "patches" | "none";
  /** How the patch grid's position embeddings are resized for another grid (torch bicubic, with or without antialias) */
  posEmbedResample?: "bicubic" | "bicubic-antialias";
  /** the patch projection's bias (CLIP has none) */
  patchBias?: boolean;
  /** LayerNorms around the patch projection: after it (timm `patch_embed.norm`), or before and after (vit-pytorch) */
  patchNorm?: "out" | "in+out";
  /** a LayerNorm on the embedded sequence before block 0 (CLIP's pre_layrnorm, timm pre_norm) */
  preNorm?: boolean;
  /** where each block's norms sit: before each branch (ViT) or after each residual (nn.TransformerEncoder's default) */
  norm?: "pre" | "post";
  /** per-channel layer scale on both branches (ls1/ls2: DINOv2, BEiT, timm init_values) */
  layerScale?: boolean;
  /** BEiT's relative position bias on the attention scores: a table per layer, or one shared by all layers */
  relativePositionBias?: "layer" | "shared";
  /**
   * The head's input: the CLS token; the mean of the patch tokens (prefix tokens left out); the
   * mean of every token; CLS beside the mean of the patch tokens (DINOv2's classifier, 2 x width).
   */
  pool?: Pool;
  /** the final LayerNorm: on the tokens before pooling (default), on the pooled vector (timm fc_norm, BEiT), both, or none */
  finalNorm?: "tokens" | "pooled" | "both" | "none";
  numClasses: number; // 0: no head, forward returns pooled features only
  hiddenDropout: number;
  attentionDropout: number;
  id2label?: Record<string, string>;
}

export const POOLS = ["cls", "avg", "avg-all", "cls+avg"] as const;
export type Pool = (typeof POOLS)[number];

type Preset = Pick<ViTConfig, "hiddenSize" | "numLayers" | "numHeads" | "mlpSize" | "patchSize">;

/** The ViT paper's sizes (Dosovitskiy et al. 2021, Table 1) plus DeiT's Ti and S. */
export const VIT_PRESETS: Record<string, Preset> = {
  "vit-ti16": { hiddenSize: 192, numLayers: 12, numHeads: 3, mlpSize: 768, patchSize: 16 },
  "vit-s16": { hiddenSize: 384, numLayers: 12, numHeads: 6, mlpSize: 1536, patchSize: 16 },
  "vit-b16": { hiddenSize: 768, numLayers: 12, numHeads: 12, mlpSize: 3072, patchSize: 16 },
  "vit-b32": { hiddenSize: 768, numLayers: 12, numHeads: 12, mlpSize: 3072, patchSize: 32 },
  "vit-l16": { hiddenSize: 1024, numLayers: 24, numHeads: 16, mlpSize: 4096, patchSize: 16 },
  "vit-l32": { hiddenSize: 1024, numLayers: 24, numHeads: 16, mlpSize: 4096, patchSize: 32 },
};

export function defaultConfig(overrides: Partial<ViTConfig> = {}): ViTConfig {
  return validateConfig({
    hiddenSize: 768,
    numLayers: 12,
    numHeads: 12,
    mlpSize: 3072,
    patchSize: 16,
    imageSize: [224, 224],
    numChannels: 3,
    layerNormEps: 1e-12,
    qkvBias: true,
    numClasses: 1000,
    hiddenDropout: 0,
    attentionDropout: 0,
    ...overrides,
  });
}

export function presetConfig(name: string, overrides: Partial<ViTConfig> = {}): ViTConfig {
  const preset = VIT_PRESETS[name];
  if (!preset) {
    throw new VitlensError(`unknown preset "${name}": expected one of ${Object.keys(VIT_PRESETS).join(", ")}`);
  }
  return defaultConfig({ ...preset, layerNormEps: 1e-6, ...overrides });
}

/** Whole patches per side: a remainder of the image beyond them is dropped (as PyTorch's stride-p convolution). */
export function gridSize(config: ViTConfig): [number, number] {
  return [Math.floor(config.imageSize[0] / config.patchSize), Math.floor(config.imageSize[1] / config.patchSize)];
}

/** The tokens before the patches, in sequence order: "CLS", "distillation", "register 0", ... */
export function prefixNames(c: ViTConfig): string[] {
  const names = c.classToken ?? true ? ["CLS"] : [];
  if (c.distillationToken) names.push("distillation");
  for (let r = 0; r < (c.registerTokens ?? 0); r++) names.push(`register ${r}`);
  return names;
}

/** Tokens before the patches: CLS, the distillation token, the registers. */
export function prefixTokens(c: ViTConfig): number {
  return prefixNames(c).length;
}

/** Where the patches start in the sequence, and whether a CLS token leads it (explain/'s maps read it). */
export function tokenLayout(c: ViTConfig): { prefix: number; cls: boolean } {
  return { prefix: prefixTokens(c), cls: c.classToken ?? true };
}

/** Tokens per image: the prefix tokens plus one per patch. */
export function numTokens(config: ViTConfig): number {
  const [gh, gw] = gridSize(config);
  return prefixTokens(config) + gh * gw;
}

/** Rows of the position embedding before the patches' (see posEmbedTokens). */
export function posEmbedPrefix(c: ViTConfig): number {
  const covers = c.posEmbedTokens ?? "all";
  return covers === "all" ? prefixTokens(c) : covers === "cls+patches" ? 1 : 0;
}

/** heads x head width */
export function attentionSize(c: ViTConfig): number {
  return c.attentionSize ?? c.hiddenSize;
}

/** The head's input width. */
export function headInputSize(c: ViTConfig): number {
  return (c.pool ?? "cls") === "cls+avg" ? 2 * c.hiddenSize : c.hiddenSize;
}

export function validateConfig(c: ViTConfig): ViTConfig {
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new VitlensError(`config: ${name} must be a positive integer, found ${v}`);
  };
  positive("hidden size", c.hiddenSize);
  positive("number of layers", c.numLayers);
  positive("number of heads", c.numHeads);
  positive("MLP size", c.mlpSize);
  positive("patch size", c.patchSize);
  positive("number of channels", c.numChannels);
  c.imageSize.forEach((s) => positive("image size", s));
  if (!Number.isInteger(c.numClasses) || c.numClasses < 0) throw new VitlensError(`config: number of classes must be ≥ 0, found ${c.numClasses}`);
  const A = attentionSize(c);
  if (A % c.numHeads !== 0) {
    throw new VitlensError(`config: ${c.attentionSize ? "attention width" : "hidden size"} ${A} is not divisible by ${c.numHeads} heads`);
  }
  if (c.imageSize.some((s) => s < c.patchSize)) {
    throw new VitlensError(`config: image size ${c.imageSize.join("x")} is smaller than one ${c.patchSize}-pixel patch`);
  }
  const pool = c.pool ?? "cls";
  const hasCls = c.classToken ?? true;
  if (!hasCls && (pool === "cls" || pool === "cls+avg")) throw new VitlensError(`config: pool "${pool}" reads the CLS token, and this model has none (use avg)`);
  if (!hasCls && (c.distillationToken || c.posEmbedTokens === "cls+patches")) throw new VitlensError("config: a distillation token or CLS-only positions need a CLS token");
  if (c.distillationHead && (!c.distillationToken || pool !== "cls")) throw new VitlensError("config: a distillation head reads the distillation token beside a CLS-pooled head");
  if (!POOLS.includes(pool)) throw new VitlensError(`config: pool "${String(pool)}": expected ${POOLS.join(", ")}`);
  return c;
}
