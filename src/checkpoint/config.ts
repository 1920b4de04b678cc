import { existsSync } from "node:fs";
import { readJson } from "../io/read-json.js";
import { VitlensError } from "../errors.js";
import { defaultPreprocess, type PreprocessConfig } from "../data/preprocess-config.js";
import { defaultConfig, posEmbedPrefix, type ViTConfig } from "../models/vit-config.js";
import type { Params } from "../tensor.js";
import { resolveHeads, type HeadsEvidence } from "./heads.js";
import { ACTIVATIONS, activationNamed } from "../nn/activation.js";


/** A config.json from HF transformers (ViTConfig) or from timm (`pretrained_cfg`). */
export type CheckpointConfig =
  | { kind: "hf"; json: Record<string, unknown> }
  | { kind: "timm"; json: Record<string, unknown> };

export function classifyConfig(json: Record<string, unknown>): CheckpointConfig {
  return "pretrained_cfg" in json || "architecture" in json ? { kind: "timm", json } : { kind: "hf", json };
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const pair = (v: unknown): [number, number] | undefined =>
  typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number") ? [v[0], v[1]] : undefined;

/**
 * Architecture from the weights themselves (what no config says): width, depth, MLP size,
 * patch size, channels, square grid, qkv bias, classes. Heads (never in a shape): `--heads`,
 * then `hint.numHeads` (the config), then the architecture name or published width (heads.ts).
 */
export function inferConfig(
  params: Params, file: string, hint: Partial<ViTConfig> = {}, heads: Omit<HeadsEvidence, "fromConfig"> = {},
): ViTConfig {
  const shape = (name: string) => {
    const t = params.get(name);
    if (!t) throw new VitlensError(`${file}: missing key for ${name}; cannot tell the architecture`);
    return t.shape;
  };
  const D = shape("cls_token")[2];
  const patch = shape("patch_embed.proj.weight");
  let numLayers = 0;
  while (params.has(`blocks.${numLayers}.attn.qkv.weight`)) numLayers++;
  if (numLayers === 0) throw new VitlensError(`${file}: no transformer blocks found`);
  // the prefix tokens, from the tensors themselves: a distillation token, registers
  const tokenShape = {
    distillationToken: params.has("dist_token"),
    distillationHead: params.has("head_dist.weight"),
    registerTokens: params.get("reg_token")?.shape[1] ?? 0,
    layerScale: params.has("blocks.0.ls1.gamma"),
    pool: (params.get("head.weight")?.shape[1] === 2 * D ? "cls+avg" : hint.pool ?? "cls") as ViTConfig["pool"],
  };
  const posPrefix = posEmbedPrefix({ ...tokenShape, posEmbedTokens: hint.posEmbedTokens } as ViTConfig);
  const tokens = shape("pos_embed")[1] - posPrefix;
  const side = Math.round(Math.sqrt(tokens));
  const imageSize: [number, number] =
    hint.imageSize ?? (side * side === tokens ? [side * patch[2], side * patch[2]] : failGrid(file, tokens));
  const { numHeads: fromConfig, ...rest } = hint;
  return defaultConfig({
    hiddenSize: D,
    numLayers,
    numHeads: resolveHeads(D, file, { ...heads, fromConfig }),
    mlpSize: shape("blocks.0.mlp.fc1.weight")[0],
    patchSize: patch[2],
    numChannels: patch[1],
    imageSize,
    qkvBias: params.has("blocks.0.attn.qkv.bias"),
    numClasses: params.get("head.weight")?.shape[0] ?? 0,
    layerNormEps: 1e-6,
    ...rest,
    ...tokenShape,
  });
}

function failGrid(file: string, tokens: number): never {
  throw new VitlensError(`${file}: ${tokens} position embeddings are not a square grid; give the image size in config.json`);
}

/** The parts of an HF ViTConfig / timm config.json that fix the architecture. */
export function configHints(cfg: CheckpointConfig, file: string): Partial<ViTConfig> {
  const j = cfg.json;
  if (cfg.kind === "hf") {
    const family = hfFamilyOf(j, file);
    const activation = j.hidden_act === undefined ? undefined : activationNamed(String(j.hidden_act));
    if (activation === null) {
      throw new VitlensError(`${file}: hidden_act "${String(j.hidden_act)}" is not an activation vitlens has (${ACTIVATIONS.join(", ")}; HF's gelu_new and gelu_pytorch_tanh are gelu_tanh)`);
    }
    const hint: Partial<ViTConfig> = {
      hiddenSize: num(j.hidden_size),
      numLayers: num(j.num_hidden_layers),
      numHeads: num(j.num_attention_heads),
      mlpSize: num(j.intermediate_size),
      patchSize: num(j.patch_size),
      imageSize: pair(j.image_size),
      numChannels: num(j.num_channels),
      layerNormEps: num(j.layer_norm_eps) ?? 1e-12,
      qkvBias: typeof j.qkv_bias === "boolean" ? j.qkv_bias : undefined,
      activation,
      hiddenDropout: num(j.hidden_dropout_prob),
      attentionDropout: num(j.attention_probs_dropout_prob),
      id2label: isLabelMap(j.id2label) ? j.id2label : undefined,
      // DINOv2's registers are inserted after the positions are added; its classifier reads [CLS, mean of patches]
      posEmbedTokens: family === "dinov2_with_registers" ? "cls+patches" : undefined,
      pool: family.startsWith("dinov2") ? "cls+avg" : undefined,
    };
    return dropUndefined(hint);
  }
  const pc = (j.pretrained_cfg ?? {}) as Record<string, unknown>;
  const args = (j.model_args ?? {}) as Record<string, unknown>;
  const input = Array.isArray(pc.input_size) ? (pc.input_size as number[]) : undefined;
  const fromName = /_patch(\d+)_(\d+)/.exec(String(j.architecture ?? ""));
  const labels = timmLabelNames(j.label_names ?? pc.label_names ?? j.labels);
  const arch = String(j.architecture ?? "");
  const actName = args.act_layer ?? (/_quickgelu(_|$)/.test(arch) ? "quick_gelu" : undefined);
  const activation = actName === undefined ? undefined : activationNamed(String(actName));
  if (activation === null) {
    throw new VitlensError(`${file}: model_args.act_layer "${String(actName)}" is not an activation vitlens has (${ACTIVATIONS.join(", ")})`);
  }
  refuseTimmOptions(args, j, file);
  const hint: Partial<ViTConfig> = {
    hiddenSize: num(args.embed_dim),
    numLayers: num(args.depth),
    numHeads: num(args.num_heads),
    patchSize: num(args.patch_size) ?? (fromName ? Number(fromName[1]) : undefined),
    imageSize: pair(args.img_size) ?? (input ? [input[1], input[2]] : fromName ? pair(Number(fromName[2])) : undefined),
    layerNormEps: num(args.layer_norm_eps) ?? (/_clip_/.test(arch) ? 1e-5 : 1e-6),
    posEmbedTokens: args.no_embed_class === true ? "patches" : undefined,
    activation,
    id2label: labels ? Object.fromEntries(labels.map((l, i) => [String(i), l])) : undefined,
  };
  return dropUndefined(hint);
}

/** The HF model types vitlens computes, and the ViT families it does not, refused by name. */
const HF_FAMILIES = ["vit", "deit", "dinov2", "dinov2_with_registers", "vit_msn"] as const;
const NOT_YET: Record<string, string> = {
  clip: "CLIP (pre-norm before block 0, separate q/k/v, post-layernorm on the pooled CLS)",
  clip_vision_model: "CLIP's vision tower (pre-norm before block 0, post-layernorm on the pooled CLS)",
  beit: "BEiT (relative position bias, q/v-only bias, mean pooling)",
  "data2vec-vision": "Data2Vec-vision (BEiT's architecture: relative position bias, mean pooling)",
  eva: "EVA-02 (rotary embeddings, SwiGLU)",
  siglip_vision_model: "SigLIP's vision tower (no CLS token, attention pooling head)",
  swin: "Swin (windowed attention, patch merging)",
};

export function hfFamilyOf(j: Record<string, unknown>, file: string): (typeof HF_FAMILIES)[number] {
  const type = j.model_type === undefined ? "vit" : String(j.model_type);
  if ((HF_FAMILIES as readonly string[]).includes(type)) return type as (typeof HF_FAMILIES)[number];
  const what = NOT_YET[type];
  throw new VitlensError(what
    ? `${file}: model_type "${type}": ${what} is not supported yet`
    : `${file}: model_type "${type}" is not a ViT family vitlens reads (${HF_FAMILIES.join(", ")})`);
}

/** timm's class names: `label_names` at the top level (timm 1.0), in pretrained_cfg, or legacy `labels`; a list or an id -> name map. */
function timmLabelNames(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (isLabelMap(v)) return Object.entries(v).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, n]) => n);
  return undefined;
}

/**
 * timm `model_args` that change what the network computes and that vitlens' ViT does not have
 * yet: refused by name rather than run as a plain ViT (which would give wrong logits quietly).
 */
function refuseTimmOptions(args: Record<string, unknown>, j: Record<string, unknown>, file: string): void {
  const pool = args.global_pool ?? j.global_pool;
  const unsupported: Array<[boolean, string]> = [
    [pool !== undefined && pool !== "token", `global_pool "${String(pool)}" (vitlens classifies from the CLS token)`],
    [args.class_token === false, "class_token false (no CLS token)"],
    [args.pre_norm === true, "pre_norm (a norm before block 0)"],
    [args.fc_norm === true, "fc_norm"],
    [args.qk_norm === true, "qk_norm"],
    [args.final_norm === false, "final_norm false"],
  ];
  const found = unsupported.filter(([bad]) => bad).map(([, what]) => what);
  if (found.length) throw new VitlensError(`${file}: timm model_args ${found.join(", ")}: not supported yet; vitlens would compute a different network`);
}

/** A timm config's architecture name (`vit_base_patch16_224.augreg_in21k`), which can tell the heads. */
export function architectureName(cfg: CheckpointConfig | null): string | undefined {
  const a = cfg?.kind === "timm" ? cfg.json.architecture : undefined;
  return typeof a === "string" ? a : undefined;
}

/** Preprocessing from preprocessor_config.json (HF) or pretrained_cfg (timm); HF defaults otherwise. */
export function preprocessFrom(
  cfg: CheckpointConfig | null, preprocessorJson: Record<string, unknown> | null, size: [number, number],
): PreprocessConfig {
  const p = defaultPreprocess(size);
  const triple = (v: unknown): [number, number, number] | undefined =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number") ? [v[0], v[1], v[2]] : undefined;
  const origin = p.origin!;
  if (preprocessorJson) {
    const j = preprocessorJson;
    const from = (keys: string[]) => (keys.some((k) => k in j) ? "preprocessor_config.json" : "default (not in preprocessor_config.json)");
    Object.assign(origin, { resize: "HF image processors resize straight", resample: from(["resample"]), normalize: from(["image_mean", "image_std", "do_normalize", "rescale_factor"]) });
    p.mean = triple(j.image_mean) ?? p.mean;
    p.std = triple(j.image_std) ?? p.std;
    if (j.do_normalize === false) {
      p.mean = [0, 0, 0];
      p.std = [1, 1, 1];
    }
    p.rescaleFactor = j.do_rescale === false ? 1 : (num(j.rescale_factor) ?? p.rescaleFactor);
    p.resample = ({ 0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic" } as const)[num(j.resample) ?? 2] ?? "bilinear";
  } else if (cfg?.kind === "timm") {
    const pc = (cfg.json.pretrained_cfg ?? {}) as Record<string, unknown>;
    const from = (key: string) => (key in pc ? "config.json pretrained_cfg" : "timm's default");
    Object.assign(origin, { resize: from("crop_pct"), resample: from("interpolation"), normalize: from("mean") === "timm's default" ? "timm's default: ImageNet mean and std" : from("mean") });
    p.mean = triple(pc.mean) ?? [0.485, 0.456, 0.406];
    p.std = triple(pc.std) ?? [0.229, 0.224, 0.225];
    p.resample = pc.interpolation === "bilinear" ? "bilinear" : "bicubic";
    // timm's eval transform: shorter side to size / crop_pct, centre crop ("squash" resizes straight)
    const crop = num(pc.crop_pct);
    if (crop !== undefined && crop > 0 && crop < 1 && (pc.crop_mode ?? "center") === "center") p.resize = { kind: "shorter-then-crop", cropPct: crop };
  }
  return p;
}

/** torchvision's ImageNet transforms (mean/std, bilinear), resized straight to the model's size. */
export function torchvisionPreprocess(size: [number, number]): PreprocessConfig {
  return {
    ...defaultPreprocess(size), resample: "bilinear", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
    origin: { size: "the weights' position embeddings", resize: "torchvision's convention", resample: "torchvision's convention", normalize: "torchvision's convention: ImageNet mean and std" },
  };
}

export function readPreprocessorJson(dir: string): Record<string, unknown> | null {
  const path = `${dir}/preprocessor_config.json`;
  return existsSync(path) ? readJson(path) : null;
}

function isLabelMap(v: unknown): v is Record<string, string> {
  return typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "string");
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
