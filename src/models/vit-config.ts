import { VitlensError } from "../errors.js";
import type { Activation } from "../nn/activation.js";

/** Everything that fixes a ViT's shapes and numerics. Field names follow vitlens; HF names are mapped in checkpoint/. */
export interface ViTConfig {
  hiddenSize: number; // D
  numLayers: number;
  numHeads: number;
  mlpSize: number;
  patchSize: number;
  imageSize: [number, number]; // (height, width), each a multiple of patchSize
  numChannels: number;
  layerNormEps: number;
  qkvBias: boolean;
  /** the MLP's activation; GELU (erf) when absent */
  activation?: Activation;
  numClasses: number; // 0: no head, forward returns pooled features only
  hiddenDropout: number;
  attentionDropout: number;
  id2label?: Record<string, string>;
}

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

export function gridSize(config: ViTConfig): [number, number] {
  return [config.imageSize[0] / config.patchSize, config.imageSize[1] / config.patchSize];
}

/** Tokens per image: the CLS token plus one per patch. */
export function numTokens(config: ViTConfig): number {
  const [gh, gw] = gridSize(config);
  return 1 + gh * gw;
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
  if (c.hiddenSize % c.numHeads !== 0) {
    throw new VitlensError(`config: hidden size ${c.hiddenSize} is not divisible by ${c.numHeads} heads`);
  }
  if (c.imageSize.some((s) => s % c.patchSize !== 0)) {
    throw new VitlensError(`config: image size ${c.imageSize.join("x")} is not a multiple of the patch size ${c.patchSize}`);
  }
  return c;
}
