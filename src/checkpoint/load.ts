import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { VitlensError } from "../errors.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { gridSize, posEmbedPrefix, presetConfig, validateConfig, VIT_PRESETS, type ViTConfig } from "../models/vit-config.js";
import { initParameter, initParams, vitParameterShapes } from "../models/vit-params.js";
import type { Params } from "../tensor.js";
import { ViT } from "../models/vit.js";
import { Rng } from "../random.js";
import { sameShape, shapeString, type Tensor } from "../tensor.js";
import { readJson } from "../io/read-json.js";
import {
  architectureName, classifyConfig, configHints, inferConfig, preprocessFrom, readPreprocessorJson, torchvisionPreprocess, type CheckpointConfig,
} from "./config.js";
import { fromGoogle } from "./keymap-google.js";
import { fromHf, isHfStateDict, type MappedState } from "./keymap-hf.js";
import { fromLukemelas, isLukemelasStateDict } from "./keymap-lukemelas.js";
import { fromTimm, isTimmStateDict } from "./keymap-timm.js";
import { fromTorchvision, isTorchvisionStateDict } from "./keymap-torchvision.js";
import { readLabelsFile } from "./labels-file.js";
import { resamplePosEmbed } from "./posemb.js";
import { readNpz } from "./npz.js";
import { readSafetensors } from "./safetensors.js";
import { readShardedSafetensors, SHARD_INDEX } from "./sharded.js";
import { readTorchFile } from "./torch-pickle.js";

/**
 * What the user can say about a checkpoint that the file may not record itself; the same flags
 * on every command that loads a ViT (cli/options.ts: --heads, --labels, --crop-pct).
 */
export interface CheckpointFlags {
  /** The number of attention heads (never visible in a shape); overrides the config. For a preset: its heads. */
  heads?: number;
  /** A file with one class name per line, as many as the checkpoint's classes. */
  labelsFile?: string;
  /** Resize the shorter side to size / cropPct, then centre-crop (torchvision's 256 -> 224 is 0.875). */
  cropPct?: number;
}

export interface LoadOptions extends CheckpointFlags {
  /** Run at this (height, width): position embeddings are resampled bicubically. */
  imageSize?: [number, number];
  /** Replace the head when the checkpoint's class count differs (or it has none). */
  numClasses?: number;
  /** Replace the head even when the class count matches (a new task with as many classes). */
  newHead?: boolean;
  /** Class names for the model's classes (the data's), taking precedence over the checkpoint's. */
  labels?: string[];
  seed?: number;
  /** For a preset: architecture changes (a small ViT trained from scratch). Ignored for files. */
  overrides?: Partial<ViTConfig>;
}

export interface LoadedModel {
  model: ViT;
  preprocess: PreprocessConfig;
  labels: string[];
  format: "hf" | "timm" | "google" | "lukemelas" | "torchvision" | "preset";
  source: string;
  /** What was adapted on the way in (new head, resampled embeddings, ignored keys). */
  notes: string[];
}

/** Resolves `--model`: a model directory, a .safetensors file, or a preset name (random weights). */
export function loadModel(spec: string, opts: LoadOptions = {}): LoadedModel {
  if (existsSync(spec)) {
    if (statSync(spec).isDirectory()) return loadDirectory(spec, opts);
    return loadWeightsFile(spec, null, null, opts);
  }
  if (spec in VIT_PRESETS) {
    const config = presetConfig(spec, {
      ...opts.overrides,
      ...(opts.heads ? { numHeads: opts.heads } : {}),
      ...(opts.imageSize ? { imageSize: opts.imageSize } : {}),
      numClasses: opts.numClasses ?? 1000,
    });
    if (opts.labelsFile) config.id2label = labelMap(readLabelsFile(opts.labelsFile, config.numClasses));
    const model = new ViT(config, initParams(config, opts.seed ?? 0));
    return {
      model, preprocess: withCrop(preprocessFrom(null, null, config.imageSize), opts), labels: labelsFor(config, opts.labels),
      format: "preset", source: spec, notes: [`preset ${spec}: random weights (seed ${opts.seed ?? 0})`],
    };
  }
  throw new VitlensError(
    `--model ${spec}: no such file or directory, and not a preset (${Object.keys(VIT_PRESETS).join(", ")})`,
  );
}

/** A model directory's weights, in the order they are looked for (as transformers does). */
export const WEIGHT_FILES = ["model.safetensors", SHARD_INDEX, "pytorch_model.bin"];

function loadDirectory(dir: string, opts: LoadOptions): LoadedModel {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) {
    throw new VitlensError(`${dir}: no config.json in this model directory (expected config.json and model.safetensors)`);
  }
  const weights = WEIGHT_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!weights) {
    const others = readdirSync(dir).filter((f) => /\.(bin|pth|pt|npz|ckpt|safetensors)$/.test(f) || f.endsWith(".index.json"));
    const hint = others.length ? ` (found ${others.join(", ")})` : "";
    throw new VitlensError(`${dir}: no ${WEIGHT_FILES.join(", ")}${hint}`);
  }
  return loadWeightsFile(weights, classifyConfig(readJson(configPath)), readPreprocessorJson(dir), opts);
}

function loadWeightsFile(
  path: string, cfg: CheckpointConfig | null, preprocessorJson: Record<string, unknown> | null, opts: LoadOptions,
): LoadedModel {
  if (extname(path) === ".npz") return loadGoogleNpz(path, opts);
  const torchFile = [".pth", ".pt", ".bin"].includes(extname(path));
  const sharded = path.endsWith(".safetensors.index.json");
  if (!torchFile && !sharded && extname(path) !== ".safetensors") {
    throw new VitlensError(`${path}: unsupported weights file (expected .safetensors, a .safetensors.index.json of shards, .pth/.pt/.bin, Google's .npz, or a model directory with config.json)`);
  }
  // A lone model.safetensors / pytorch_model.bin may sit beside its config.
  if (!cfg && existsSync(join(dirname(path), "config.json")) && WEIGHT_FILES.includes(basename(path))) {
    cfg = classifyConfig(readJson(join(dirname(path), "config.json")));
    preprocessorJson = readPreprocessorJson(dirname(path));
  }
  const file = torchFile ? readTorchFile(path) : sharded ? readShardedSafetensors(path) : readSafetensors(path);
  const keys = [...file.tensors.keys()];
  let mapped: MappedState;
  let format: LoadedModel["format"];
  if (isTimmStateDict(keys)) [mapped, format] = [fromTimm(file.tensors, path), "timm"];
  else if (isHfStateDict(keys)) [mapped, format] = [fromHf(file.tensors, path), "hf"];
  else if (isLukemelasStateDict(keys)) [mapped, format] = [fromLukemelas(file.tensors, path), "lukemelas"];
  else if (isTorchvisionStateDict(keys)) [mapped, format] = [fromTorchvision(file.tensors, path), "torchvision"];
  else throw new VitlensError(`${path}: not a ViT checkpoint (no patch-embedding key in HF, timm, torchvision or PyTorch-Pretrained-ViT naming; see what it holds with: vitlens tensors ${path})`);

  const hints = { ...(format === "lukemelas" || format === "torchvision" ? { layerNormEps: 1e-6 } : {}), ...(cfg ? configHints(cfg, path) : {}) };
  // the architecture the file holds
  const stored = inferConfig(mapped.params, path, hints, { explicit: opts.heads, architecture: architectureName(cfg) });
  checkShapes(mapped, stored, path);
  if (opts.labelsFile) stored.id2label = labelMap(readLabelsFile(opts.labelsFile, stored.numClasses));
  const notes = mapped.ignored.length ? [`ignored ${mapped.ignored.length} unused key(s): ${mapped.ignored.join(", ")}`] : [];
  const skipped = Array.isArray(file.skipped) ? file.skipped : [...file.skipped.keys()];
  if (skipped.length) notes.push(`skipped non-float entries: ${skipped.join(", ")}`);

  const config = adapt(stored, mapped.params, opts, notes);
  // torchvision files record no preprocessing: its ImageNet statistics and bilinear resize
  const preprocess = withCrop(format === "torchvision" ? torchvisionPreprocess(config.imageSize) : preprocessFrom(cfg, preprocessorJson, config.imageSize), opts);
  preprocess.size = config.imageSize;
  return { model: new ViT(config, mapped.params), preprocess, labels: labelsFor(config, opts.labels), format, source: path, notes };
}

/** Google's original JAX checkpoints (ViT-B_16.npz, ...): architecture from the shapes, eps 1e-6. */
function loadGoogleNpz(path: string, opts: LoadOptions): LoadedModel {
  const mapped = fromGoogle(readNpz(path), path);
  if (opts.heads !== undefined && opts.heads !== mapped.numHeads) {
    throw new VitlensError(`--heads ${opts.heads}: ${path} has ${mapped.numHeads} heads in its attention kernels (per-head shapes)`);
  }
  const stored = inferConfig(mapped.params, path, { numHeads: mapped.numHeads, layerNormEps: 1e-6 });
  checkShapes(mapped, stored, path);
  if (opts.labelsFile) stored.id2label = labelMap(readLabelsFile(opts.labelsFile, stored.numClasses));
  const notes = mapped.ignored.length ? [`ignored ${mapped.ignored.length} unused key(s): ${mapped.ignored.join(", ")}`] : [];
  const config = adapt(stored, mapped.params, opts, notes);
  const preprocess = withCrop(preprocessFrom(null, null, config.imageSize), opts); // Google's ViTs take [-1, 1] inputs: mean = std = 0.5
  return { model: new ViT(config, mapped.params), preprocess, labels: labelsFor(config, opts.labels), format: "google", source: path, notes };
}

/** Every expected parameter present with its exact shape, nothing unexpected. */
function checkShapes(mapped: MappedState, config: ViTConfig, file: string): void {
  const expected = vitParameterShapes(config);
  const expectedNames = new Set(expected.map(([n]) => n));
  for (const [name, shape] of expected) {
    const t = mapped.params.get(name);
    if (!t) throw new VitlensError(`${file}: missing key ${name} (vitlens name) for a ${config.numLayers}-layer ViT`);
    if (!sameShape(t.shape, shape)) {
      throw new VitlensError(`${file}: key ${mapped.origin.get(name) ?? name} has shape ${shapeString(t.shape)}, expected ${shapeString(shape)} from the config`);
    }
  }
  for (const name of mapped.params.keys()) {
    if (!expectedNames.has(name)) throw new VitlensError(`${file}: unexpected key ${mapped.origin.get(name) ?? name} for a ${config.numLayers}-layer ViT`);
  }
}

/** Applies the requested image size (resampled position embeddings) and class count (new head). */
function adapt(stored: ViTConfig, params: Params, opts: LoadOptions, notes: string[]): ViTConfig {
  const config = validateConfig({ ...stored, imageSize: opts.imageSize ?? stored.imageSize });
  const [fromH, fromW] = gridSize(stored);
  const [toH, toW] = gridSize(config);
  if (fromH !== toH || fromW !== toW) {
    params.set("pos_embed", resamplePosEmbed(params.get("pos_embed") as Tensor, [fromH, fromW], [toH, toW], posEmbedPrefix(stored)));
    notes.push(`position embeddings resampled (bicubic) from a ${fromH}x${fromW} to a ${toH}x${toW} patch grid`);
  }
  const classes = opts.numClasses ?? stored.numClasses;
  if (classes !== stored.numClasses || opts.newHead) {
    newHeadParams(config, params, classes, opts.seed ?? 0);
    notes.push(`new head: ${classes} classes (checkpoint had ${stored.numClasses ? `${stored.numClasses}` : "no head"}), randomly initialised`);
  }
  return config;
}

function newHeadParams(config: ViTConfig, params: Params, classes: number, seed: number): void {
  config.numClasses = classes;
  config.id2label = undefined;
  params.delete("head.weight");
  params.delete("head.bias");
  if (classes > 0) {
    const rng = new Rng(seed);
    for (const [name, shape] of vitParameterShapes(config).filter(([n]) => n.startsWith("head."))) params.set(name, initParameter(name, shape, rng));
  }
}

/** A loaded model's head replaced by a randomly initialised one of `classes` classes (named LABEL_i until the caller names them). */
export function replaceHead(loaded: LoadedModel, classes: number, seed: number): void {
  newHeadParams(loaded.model.config, loaded.model.params, classes, seed);
  loaded.labels = labelsFor(loaded.model.config);
}

/** `--crop-pct P`: shorter side to size / P, then a centre crop, whatever the checkpoint says. */
function withCrop(p: PreprocessConfig, opts: LoadOptions): PreprocessConfig {
  const sized = opts.imageSize && p.origin ? { ...p, origin: { ...p.origin, size: "--image-size" } } : p;
  if (opts.cropPct === undefined) return sized;
  if (!(opts.cropPct > 0 && opts.cropPct <= 1)) throw new VitlensError(`--crop-pct ${opts.cropPct}: expected a fraction in (0, 1], e.g. 0.875 for torchvision's 256 -> 224`);
  return { ...sized, resize: { kind: "shorter-then-crop", cropPct: opts.cropPct }, origin: sized.origin && { ...sized.origin, resize: "--crop-pct" } };
}

const labelMap = (names: string[]): Record<string, string> => Object.fromEntries(names.map((l, i) => [String(i), l]));

function labelsFor(config: ViTConfig, given?: string[]): string[] {
  return Array.from({ length: config.numClasses }, (_, i) => given?.[i] ?? config.id2label?.[String(i)] ?? `LABEL_${i}`);
}
