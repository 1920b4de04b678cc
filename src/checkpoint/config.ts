import { existsSync } from "node:fs";
import { join } from "node:path";
import { dropUndefined, finiteNumber } from "../io/json-values.js";
import { readJson } from "../io/read-json.js";
import { VitlensError } from "../errors.js";
import { defaultPreprocess, type PreprocessConfig } from "../data/preprocess-config.js";
import { defaultConfig, posEmbedPrefix, type ViTConfig } from "../models/vit-config.js";
import type { Params } from "../tensor.js";
import { resolveHeads, type HeadsEvidence } from "./heads.js";
import { hfConfigHints, type HfModelType } from "./hf-families.js";
import { timmArchitecture, timmConfigHints } from "./timm-config.js";

/** A config.json from HF transformers (ViTConfig, DeiTConfig, ...) or from timm (`pretrained_cfg`). */
export type CheckpointConfig =
  | { kind: "hf"; json: Record<string, unknown> }
  | { kind: "timm"; json: Record<string, unknown> };

export function classifyConfig(json: Record<string, unknown>): CheckpointConfig {
  return "pretrained_cfg" in json || "architecture" in json ? { kind: "timm", json } : { kind: "hf", json };
}

/**
 * Architecture from the weights themselves (what no config says): width, depth, MLP size,
 * attention width, patch size, channels, the prefix tokens, biases, norms, layer scale, relative
 * position tables, classes. Heads (never in a shape): `--heads`, then `hint.numHeads` (the
 * config), then the architecture name or published width (heads.ts). What neither the names nor
 * the shapes show (pooling, where the norms sit, activation, eps) comes from `hint`.
 */
export function inferConfig(
  params: Params, file: string, hint: Partial<ViTConfig> = {}, heads: Omit<HeadsEvidence, "fromConfig"> = {},
): ViTConfig {
  const shape = (name: string) => {
    const t = params.get(name);
    if (!t) throw new VitlensError(`${file}: missing key for ${name}; cannot tell the architecture`);
    return t.shape;
  };
  const patch = shape("patch_embed.proj.weight"); // (D, C, p, p)
  const D = patch[0];
  let numLayers = 0;
  while (params.has(`blocks.${numLayers}.attn.qkv.weight`)) numLayers++;
  if (numLayers === 0) throw new VitlensError(`${file}: no transformer blocks found`);
  const A = shape("blocks.0.attn.qkv.weight")[0] / 3;
  const headWidth = params.get("head.weight")?.shape[1];
  const has = (name: string) => params.has(name);
  const found: Partial<ViTConfig> = {
    classToken: has("cls_token"),
    distillationToken: has("dist_token"),
    distillationHead: has("head_dist.weight"),
    registerTokens: params.get("reg_token")?.shape[1] ?? 0,
    layerScale: has("blocks.0.ls1.gamma"),
    qkvBias: has("blocks.0.attn.qkv.bias"),
    patchBias: has("patch_embed.proj.bias"),
    patchNorm: has("patch_embed.norm_in.weight") ? "in+out" : has("patch_embed.norm.weight") ? "out" : undefined,
    preNorm: has("norm_pre.weight"),
    relativePositionBias: has("rel_pos_bias.relative_position_bias_table") ? "shared" : has("blocks.0.attn.relative_position_bias_table") ? "layer" : undefined,
    finalNorm: has("norm.weight") ? (has("fc_norm.weight") ? "both" : "tokens") : has("fc_norm.weight") ? "pooled" : "none",
    attentionSize: A !== D ? A : undefined,
    posEmbedTokens: has("pos_embed") ? hint.posEmbedTokens : "none",
    pool: headWidth === 2 * D ? "cls+avg" : hint.pool ?? (has("cls_token") ? "cls" : "avg"),
  };
  const imageSize = hint.imageSize ?? gridFromTensors(params, { ...hint, ...found } as ViTConfig, patch[2], file);
  const { numHeads: fromConfig, ...rest } = hint;
  return defaultConfig({
    hiddenSize: D,
    numLayers,
    numHeads: resolveHeads(A, file, { ...heads, fromConfig }),
    mlpSize: shape("blocks.0.mlp.fc1.weight")[0],
    patchSize: patch[2],
    numChannels: patch[1],
    imageSize,
    numClasses: params.get("head.weight")?.shape[0] ?? 0,
    layerNormEps: 1e-6,
    ...rest,
    ...dropUndefined(found),
  });
}

/** The image size the position embeddings (or BEiT's relative table) were made for: a square grid of patches. */
function gridFromTensors(params: Params, c: ViTConfig, patch: number, file: string): [number, number] {
  const pos = params.get("pos_embed");
  const table = params.get("rel_pos_bias.relative_position_bias_table") ?? params.get("blocks.0.attn.relative_position_bias_table");
  let side: number;
  if (pos) {
    const tokens = pos.shape[1] - posEmbedPrefix(c);
    side = Math.round(Math.sqrt(tokens));
    if (side * side !== tokens) throw new VitlensError(`${file}: ${tokens} position embeddings are not a square grid; give the image size with --image-size HxW`);
  } else if (table) {
    side = (Math.round(Math.sqrt(table.shape[0] - 3)) + 1) / 2; // (2s-1)^2 + 3 rows
    if ((2 * side - 1) ** 2 + 3 !== table.shape[0]) throw new VitlensError(`${file}: a relative position table of ${table.shape[0]} rows is not a square grid's; give --image-size HxW`);
  } else {
    throw new VitlensError(`${file}: no position embedding records the image size; pass --image-size N`);
  }
  return [side * patch, side * patch];
}

/** What a config.json says about the architecture, and (HF) which family it names. */
export function configHints(cfg: CheckpointConfig, file: string): Partial<ViTConfig> {
  return configFamily(cfg, file).hints;
}

export function configFamily(cfg: CheckpointConfig, file: string): { hints: Partial<ViTConfig>; hfType?: HfModelType } {
  if (cfg.kind === "timm") return { hints: timmConfigHints(cfg.json, file) };
  const { hints, type } = hfConfigHints(cfg.json, file);
  const id2label = cfg.json.id2label;
  if (typeof id2label === "object" && id2label !== null && Object.values(id2label).every((x) => typeof x === "string")) {
    hints.id2label = id2label as Record<string, string>;
  }
  return { hints, hfType: type };
}

/** A timm config's architecture name (`vit_base_patch16_224.augreg_in21k`), which can tell the heads. */
export function architectureName(cfg: CheckpointConfig | null): string | undefined {
  return cfg?.kind === "timm" ? timmArchitecture(cfg.json) : undefined;
}

const triple = (v: unknown): [number, number, number] | undefined =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number") ? [v[0], v[1], v[2]] : undefined;

/** Preprocessing from the HF image processor's JSON or timm's pretrained_cfg; HF defaults otherwise. */
export function preprocessFrom(
  cfg: CheckpointConfig | null, processor: ProcessorJson | null, size: [number, number], interpolationGiven = false,
): PreprocessConfig {
  const p = defaultPreprocess(size);
  const origin = p.origin!;
  if (processor) return hfPreprocess(processor, p);
  if (cfg?.kind === "timm") {
    const pc = (cfg.json.pretrained_cfg ?? {}) as Record<string, unknown>;
    const from = (key: string) => (key in pc ? "config.json pretrained_cfg" : "timm's default");
    Object.assign(origin, { resize: from("crop_pct"), resample: from("interpolation"), normalize: from("mean") === "timm's default" ? "timm's default: ImageNet mean and std" : from("mean") });
    p.mean = triple(pc.mean) ?? [0.485, 0.456, 0.406];
    p.std = triple(pc.std) ?? [0.229, 0.224, 0.225];
    p.resample = interpolationGiven ? p.resample : timmInterpolation(pc.interpolation); // --interpolation replaces it after
    // timm's eval transform: shorter side to size / crop_pct, centre crop ("squash" resizes straight)
    const crop = finiteNumber(pc.crop_pct);
    if (crop !== undefined && crop > 0 && crop < 1 && (pc.crop_mode ?? "center") === "center") p.resize = { kind: "shorter-then-crop", cropPct: crop };
  }
  return p;
}

const RESAMPLE = { 0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic" } as const;

/** pretrained_cfg.interpolation (timm's default bicubic); a mode vitlens does not resample with is refused, not swapped. */
function timmInterpolation(value: unknown): PreprocessConfig["resample"] {
  if (value === undefined) return "bicubic";
  const known = Object.values(RESAMPLE) as string[];
  if (typeof value === "string" && known.includes(value)) return value as PreprocessConfig["resample"];
  throw new VitlensError(`config.json: pretrained_cfg.interpolation ${JSON.stringify(value)} is not one vitlens resamples with (${known.join(", ")}); pass --interpolation to choose one`);
}

/** HF's image processors (the PIL ones: ViTImageProcessor, DeiT, BEiT, CLIP, DINOv2's BitImageProcessor) as one resize policy. */
function hfPreprocess({ json: j, file }: ProcessorJson, p: PreprocessConfig): PreprocessConfig {
  const from = (keys: string[]) => (keys.some((k) => k in j) ? file : `default (not in ${file})`);
  p.mean = triple(j.image_mean) ?? p.mean;
  p.std = triple(j.image_std) ?? p.std;
  if (j.do_normalize === false) {
    p.mean = [0, 0, 0];
    p.std = [1, 1, 1];
  }
  p.rescaleFactor = j.do_rescale === false ? 1 : (finiteNumber(j.rescale_factor) ?? p.rescaleFactor);
  const code = finiteNumber(j.resample) ?? 2;
  p.resample = RESAMPLE[code as keyof typeof RESAMPLE] ?? "bilinear";
  // an int size means a square for ViT/DeiT/BEiT processors and the shortest edge for CLIP/Bit (default_to_square=False)
  const type = String(j.image_processor_type ?? "");
  const shortestByDefault = /^(CLIP|Bit|Chinese)/.test(type);
  const size = sizeOf(j.size, shortestByDefault);
  const crop = j.do_center_crop === true ? sizeOf(j.crop_size, false) : undefined;
  const cropSize = crop && !("shortestEdge" in crop) ? crop : undefined;
  if (j.do_resize !== false && size) {
    if ("shortestEdge" in size && !cropSize) throw new VitlensError(`${file}: resizing the shortest edge without a centre crop gives images of varying size; vitlens needs one input size (pass --image-size)`);
    const resize = "shortestEdge" in size ? { shortestEdge: size.shortestEdge } : ([size.height, size.width] as [number, number]);
    p.size = cropSize ? [cropSize.height, cropSize.width] : (resize as [number, number]);
    p.resize = cropSize || "shortestEdge" in size ? { kind: "hf", resize, crop: !!cropSize } : { kind: "exact" };
  }
  Object.assign(p.origin!, {
    size: from(["size", "crop_size"]),
    resize: p.resize.kind === "hf" ? file : "HF image processors resize straight",
    resample: from(["resample"]),
    normalize: from(["image_mean", "image_std", "do_normalize", "rescale_factor"]),
  });
  return p;
}

function sizeOf(v: unknown, shortest: boolean): { height: number; width: number } | { shortestEdge: number } | undefined {
  if (typeof v === "number") return shortest ? { shortestEdge: v } : { height: v, width: v };
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (finiteNumber(o.height) !== undefined && finiteNumber(o.width) !== undefined) return { height: o.height as number, width: o.width as number };
  if (finiteNumber(o.shortest_edge) !== undefined) return { shortestEdge: o.shortest_edge as number };
  return undefined;
}

/** torchvision's ImageNet transforms (mean/std, bilinear), resized straight to the model's size. */
export function torchvisionPreprocess(size: [number, number]): PreprocessConfig {
  return {
    ...defaultPreprocess(size), resample: "bilinear", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
    origin: { size: "the weights' position embeddings", resize: "torchvision's convention", resample: "torchvision's convention", normalize: "torchvision's convention: ImageNet mean and std" },
  };
}

/** An image processor's settings and the file they came from (named in the preprocessing's origin). */
export interface ProcessorJson {
  json: Record<string, unknown>;
  file: "preprocessor_config.json" | "processor_config.json";
}

/**
 * The image processor's settings: preprocessor_config.json (the Hub's older repos), or the
 * `image_processor` entry of processor_config.json (transformers 5's save_pretrained of a processor).
 */
export function readPreprocessorJson(dir: string): ProcessorJson | null {
  const older = join(dir, "preprocessor_config.json");
  if (existsSync(older)) return { json: readJson(older), file: "preprocessor_config.json" };
  const processor = join(dir, "processor_config.json");
  if (!existsSync(processor)) return null;
  const inner = readJson(processor).image_processor;
  if (typeof inner === "object" && inner !== null) return { json: inner as Record<string, unknown>, file: "processor_config.json" };
  return null;
}
