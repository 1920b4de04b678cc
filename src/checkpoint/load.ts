import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { VitlensError } from "../errors.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { gridSize, posEmbedPrefix, presetConfig, validateConfig, VIT_PRESETS, type Pool, type ViTConfig } from "../models/vit-config.js";
import { checkForwardFits } from "../models/memory-fit.js";
import type { Activation } from "../nn/activation.js";
import { initParameter, initParams, vitParameterShapes, zeroParams } from "../models/vit-params.js";
import type { Params } from "../tensor.js";
import { ViT } from "../models/vit.js";
import { Rng } from "../random.js";
import { sameShape, shapeString, type Tensor } from "../tensor.js";
import { resizeRelativeTable } from "../models/relative-position.js";
import { readJson } from "../io/read-json.js";
import {
  architectureName, classifyConfig, configFamily, inferConfig, preprocessFrom, readPreprocessorJson, torchvisionPreprocess, type CheckpointConfig, type ProcessorJson,
} from "./config.js";
import { familyName, interpolatesPositions, type HfModelType } from "./hf-families.js";
import { fromClip, isClipStateDict } from "./keymap-clip.js";
import { fromKeymap, readKeymap } from "./keymap-file.js";
import { refuseKnownFamily } from "./family-refusals.js";
import { fromTorchEncoder, isTorchEncoderStateDict, TORCH_ENCODER_FLAGS } from "./keymap-torch-encoder.js";
import { fromVitPytorch, isVitPytorchStateDict } from "./keymap-vit-pytorch.js";
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
 * on every command that loads a ViT (cli/options.ts). Flags take precedence over the config.
 */
export interface CheckpointFlags {
  /** The number of attention heads (never visible in a shape); overrides the config. For a preset: its heads. */
  heads?: number;
  /** A file with one class name per line, as many as the checkpoint's classes. */
  labelsFile?: string;
  /** Resize the shorter side to size / cropPct, then centre-crop (torchvision's 256 -> 224 is 0.875). */
  cropPct?: number;
  /** Where each block's norms sit (nn.TransformerEncoder's norm_first=False is post). */
  norm?: "pre" | "post";
  activation?: Activation;
  pool?: Pool;
  lnEps?: number;
  /** Pixels: normalisation and resampling when the checkpoint does not record them (or to override it). */
  mean?: [number, number, number];
  std?: [number, number, number];
  interpolation?: PreprocessConfig["resample"];
  /** A JSON key map for names no known family uses (checkpoint/keymap-file.ts). */
  keymap?: string;
  /** Run at this (height, width): position embeddings are resampled as the family does. */
  imageSize?: [number, number];
}

export interface LoadOptions extends CheckpointFlags {
  /** Replace the head when the checkpoint's class count differs (or it has none). */
  numClasses?: number;
  /** Replace the head even when the class count matches (a new task with as many classes). */
  newHead?: boolean;
  /** Class names for the model's classes (the data's), taking precedence over the checkpoint's. */
  labels?: string[];
  seed?: number;
  /** For a preset: architecture changes (a small ViT trained from scratch). Ignored for files. */
  overrides?: Partial<ViTConfig>;
  /** For a preset: zero weights instead of drawing random ones (inspect needs the shapes only; 86M draws take seconds). */
  shapesOnly?: boolean;
}

export interface LoadedModel {
  model: ViT;
  preprocess: PreprocessConfig;
  labels: string[];
  format: "hf" | "timm" | "google" | "lukemelas" | "torchvision" | "vit-pytorch" | "torch-encoder" | "keymap" | "preset";
  /** The family in the user's words: "HF DeiT", "timm", "vit-pytorch", ... */
  family: string;
  /** For HF checkpoints: the transformers model type (the module tree inspect prints, the family convert writes). */
  hfType?: HfModelType;
  /** What a head added to this backbone reads, when its family has a convention (DINOv2: [CLS, mean of patches]). */
  newHeadPool?: Pool;
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
    refuseKeymap(opts, `preset ${spec}`);
    const config = presetConfig(spec, {
      ...opts.overrides,
      ...flagsAsHints(opts),
      ...(opts.heads ? { numHeads: opts.heads } : {}),
      ...(opts.imageSize ? { imageSize: opts.imageSize } : {}),
      numClasses: opts.numClasses ?? 1000,
    });
    if (opts.labelsFile) config.id2label = labelMap(readLabelsFile(opts.labelsFile, config.numClasses));
    if (opts.imageSize && !opts.shapesOnly) checkForwardFits(config, opts.imageSize, 1);
    const params = opts.shapesOnly ? zeroParams(config) : initParams(config, opts.seed ?? 0);
    const model = new ViT(config, params);
    return {
      model, preprocess: withCrop(withPixelFlags(preprocessFrom(null, null, config.imageSize), opts), opts), labels: labelsFor(config, opts.labels),
      format: "preset", family: "preset", source: spec, notes: [opts.shapesOnly ? `preset ${spec}: no trained weights (random ones when a command runs it)` : `preset ${spec}: random weights (seed ${opts.seed ?? 0})`],
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
  path: string, cfg: CheckpointConfig | null, preprocessorJson: ProcessorJson | null, opts: LoadOptions,
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
  const { mapped, format } = mapState(file.tensors, path, opts);
  const family = configFamily0(cfg, path);
  const flagHints = flagsAsHints(opts);
  const hints: Partial<ViTConfig> = {
    ...(format === "lukemelas" || format === "torchvision" ? { layerNormEps: 1e-6 } : {}),
    ...mapped.hints, ...family.hints, ...flagHints,
  };
  if (format === "torch-encoder") {
    const missing = TORCH_ENCODER_FLAGS.filter((f) => hints[f] === undefined);
    if (missing.length) {
      throw new VitlensError(`${path}: an nn.TransformerEncoder ViT does not record ${missing.map((f) => FLAG_HELP[f]).join(", ")}; pass ${missing.map((f) => `--${f}`).join(" ")}`);
    }
  }
  const handWritten = format === "vit-pytorch" || format === "torch-encoder" || format === "keymap" ? mapped.family : undefined;
  // the architecture the file holds
  const stored = inferConfig(mapped.params, path, hints, { explicit: opts.heads, architecture: architectureName(cfg), handWritten });
  checkShapes(mapped, stored, path);
  if (opts.labelsFile) stored.id2label = labelMap(readLabelsFile(opts.labelsFile, stored.numClasses));
  // a convention note is moot once the flag it names is given
  const notes = (mapped.notes ?? []).filter((n) => !(opts.pool && n.includes("--pool")) && !(opts.lnEps && n.includes("--ln-eps")));
  if (format === "keymap") {
    // a key map's file records no architecture: say which defaults stand in for what it did not name
    const assumed = ([["norm", `pre-norm blocks`], ["activation", "GELU"], ["layerNormEps", "LayerNorm eps 1e-6"], ["pool", `${stored.pool} pooling`]] as const)
      .filter(([field]) => hints[field] === undefined && !(field === "pool" && stored.pool === "cls+avg")) // a 2D-wide head shows its pooling
      .map(([, what]) => what);
    if (assumed.length) notes.push(`${mapped.family} names no ${assumed.length === 4 ? "architecture" : "part of the architecture"}: assumed ${assumed.join(", ")} (its "architecture", or --norm --activation --ln-eps --pool, to say otherwise)`);
  }
  if (mapped.ignored.length) notes.push(`ignored ${mapped.ignored.length} unused key(s): ${abbreviate(mapped.ignored)}`);
  const skipped = Array.isArray(file.skipped) ? file.skipped : [...file.skipped.keys()];
  if (skipped.length) notes.push(`skipped non-float entries: ${skipped.join(", ")}`);

  // torchvision files record no preprocessing: its ImageNet statistics and bilinear resize
  let preprocess = format === "torchvision" ? torchvisionPreprocess(stored.imageSize) : preprocessFrom(cfg, preprocessorJson, stored.imageSize, opts.interpolation !== undefined);
  if (!cfg && !preprocessorJson && format !== "torchvision" && !opts.mean) {
    notes.push(`no preprocessing recorded in ${basename(path)}: size ${stored.imageSize.join("x")}, ${preprocess.resample}, mean ${preprocess.mean.join(",")}, std ${preprocess.std.join(",")} (--image-size, --interpolation, --mean, --std to change)`);
  }
  preprocess = withPixelFlags(preprocess, opts);
  const size = opts.imageSize ?? runSize(stored, preprocess.size, interpolatesPositions(family.hfType), notes);
  // a new head on a DINOv2 backbone reads what Dinov2ForImageClassification reads, unless --pool says otherwise
  const headPool = family.hfType?.startsWith("dinov2") && !opts.pool ? "cls+avg" : undefined;
  // transformers resizes BEiT's and Data2Vec-vision's tables for any input; a relative table under HF
  // names is theirs even without a config.json to say which
  const resizesTables = format === "hf";
  const config = adapt(stored, mapped.params, { ...opts, imageSize: size }, notes, headPool, resizesTables);
  preprocess = withCrop(preprocess, opts);
  preprocess.size = config.imageSize;
  const hfType = family.hfType ?? (mapped.family === "HF CLIP vision" ? "clip_vision_model" : format === "hf" ? "vit" : undefined);
  return { model: new ViT(config, mapped.params), preprocess, labels: labelsFor(config, opts.labels), format, family: family.name ?? mapped.family ?? format, hfType, newHeadPool: headPool, source: path, notes };
}

const FLAG_HELP: Record<(typeof TORCH_ENCODER_FLAGS)[number], string> = {
  norm: "where its norms sit (norm_first=True is --norm pre, the default False is --norm post)",
  activation: "its activation (TransformerEncoderLayer's default is relu)",
  pool: "how its head pools (--pool cls reads the class token)",
};

/** The key map that reads this file: --keymap, else the family its names show. */
function mapState(tensors: Map<string, Tensor>, path: string, opts: LoadOptions): { mapped: MappedState; format: LoadedModel["format"] } {
  if (opts.keymap) return { mapped: fromKeymap(tensors, path, opts.keymap, readKeymap(opts.keymap)), format: "keymap" };
  const keys = [...tensors.keys()];
  if (isClipStateDict(keys)) return { mapped: fromClip(tensors, path), format: "hf" };
  if (isHfStateDict(keys)) return { mapped: fromHf(tensors, path), format: "hf" };
  if (isVitPytorchStateDict(keys)) return { mapped: fromVitPytorch(tensors, path), format: "vit-pytorch" };
  if (isTorchEncoderStateDict(keys)) return { mapped: fromTorchEncoder(tensors, path), format: "torch-encoder" };
  if (isTimmStateDict(keys)) return { mapped: fromTimm(tensors, path), format: "timm" };
  if (isLukemelasStateDict(keys)) return { mapped: fromLukemelas(tensors, path), format: "lukemelas" };
  if (isTorchvisionStateDict(keys)) return { mapped: fromTorchvision(tensors, path), format: "torchvision" };
  refuseKnownFamily(keys, path);
  throw new VitlensError(`${path}: not a ViT checkpoint vitlens knows (no patch embedding in HF, timm, CLIP, torchvision, PyTorch-Pretrained-ViT, vit-pytorch or nn.TransformerEncoder naming; see what it holds with: vitlens tensors ${path}, and map its names with --keymap FILE)`);
}

function configFamily0(cfg: CheckpointConfig | null, path: string): { hints: Partial<ViTConfig>; hfType?: Parameters<typeof interpolatesPositions>[0]; name?: string } {
  if (!cfg) return { hints: {} };
  const f = configFamily(cfg, path);
  return { ...f, name: f.hfType ? familyName(f.hfType) : "timm" };
}

/** --keymap reads the names of a state dict: a preset or Google's .npz has none to map. */
function refuseKeymap(opts: LoadOptions, what: string): void {
  if (opts.keymap) throw new VitlensError(`--keymap ${opts.keymap}: ${what} has no state-dict names to map (--keymap reads a .safetensors, .pth, .pt or .bin file)`);
}

/** --norm, --activation, --pool, --ln-eps as config fields. */
function flagsAsHints(o: CheckpointFlags): Partial<ViTConfig> {
  return Object.fromEntries(Object.entries({ norm: o.norm, activation: o.activation, pool: o.pool, layerNormEps: o.lnEps }).filter(([, v]) => v !== undefined));
}

/**
 * The size a model runs at when no --image-size is given: the image processor's output when it
 * gives the same patch grid (BEiT's processors resize to 37 for a 32-pixel patch-8 model: the
 * convolution drops the remainder) or when the family interpolates its positions to any input
 * (DINOv2: 518-pixel positions, 224-pixel crops); otherwise the checkpoint's own size.
 */
function runSize(stored: ViTConfig, processed: [number, number], interpolates: boolean, notes: string[]): [number, number] {
  if (processed[0] === stored.imageSize[0] && processed[1] === stored.imageSize[1]) return processed;
  const [gh, gw] = gridSize(stored);
  const [ph, pw] = gridSize({ ...stored, imageSize: processed });
  if (gh === ph && gw === pw) return processed;
  if (interpolates) return processed;
  notes.push(`the image processor's ${processed.join("x")} differs from the model's ${stored.imageSize.join("x")}: images are brought to ${stored.imageSize.join("x")} (--image-size to run at another size)`);
  return stored.imageSize;
}

function abbreviate(keys: string[]): string {
  const groups = new Map<string, number>();
  for (const k of keys) {
    const g = /^(text_model|text_projection|visual_projection)\b/.exec(k)?.[1];
    groups.set(g ? `${g}.*` : k, (groups.get(g ? `${g}.*` : k) ?? 0) + 1);
  }
  const parts = [...groups].map(([k, n]) => (n > 1 ? `${k} (${n})` : k));
  return parts.length > 8 ? `${parts.slice(0, 8).join(", ")}, ... (${parts.length} in all)` : parts.join(", ");
}

/** --mean, --std, --interpolation over what the checkpoint recorded. */
function withPixelFlags(p: PreprocessConfig, o: CheckpointFlags): PreprocessConfig {
  const out = { ...p, origin: p.origin && { ...p.origin } };
  if (o.mean) out.mean = o.mean;
  if (o.std) out.std = o.std;
  if ((o.mean || o.std) && out.origin) out.origin.normalize = "--mean / --std";
  if (o.interpolation) {
    out.resample = o.interpolation;
    if (out.origin) out.origin.resample = "--interpolation";
  }
  return out;
}

/** Google's original JAX checkpoints (ViT-B_16.npz, ...): architecture from the shapes, eps 1e-6. */
function loadGoogleNpz(path: string, opts: LoadOptions): LoadedModel {
  refuseKeymap(opts, path);
  const mapped = fromGoogle(readNpz(path), path);
  if (opts.heads !== undefined && opts.heads !== mapped.numHeads) {
    throw new VitlensError(`--heads ${opts.heads}: ${path} has ${mapped.numHeads} heads in its attention kernels (per-head shapes)`);
  }
  const stored = inferConfig(mapped.params, path, { numHeads: mapped.numHeads, layerNormEps: 1e-6, ...flagsAsHints(opts) });
  checkShapes(mapped, stored, path);
  if (opts.labelsFile) stored.id2label = labelMap(readLabelsFile(opts.labelsFile, stored.numClasses));
  const notes = mapped.ignored.length ? [`ignored ${mapped.ignored.length} unused key(s): ${mapped.ignored.join(", ")}`] : [];
  const config = adapt(stored, mapped.params, opts, notes);
  const preprocess = withCrop(withPixelFlags(preprocessFrom(null, null, config.imageSize), opts), opts); // Google's ViTs take [-1, 1] inputs: mean = std = 0.5
  return { model: new ViT(config, mapped.params), preprocess, labels: labelsFor(config, opts.labels), format: "google", family: "Google .npz", source: path, notes };
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

/**
 * A requested size that is not whole patches: the patch convolution never sees the remainder, which
 * is easy to miss (the grid, and so the position embeddings, may not even change).
 */
function partialPatchNote([H, W]: [number, number], p: number, [gh, gw]: [number, number]): string[] {
  const [rows, cols] = [H - gh * p, W - gw * p];
  if (rows === 0 && cols === 0) return [];
  const below = `${H - rows}x${W - cols}`;
  const above = `${rows ? H - rows + p : H}x${cols ? W - cols + p : W}`;
  return [`a ${H}x${W} input is not whole ${p}-pixel patches: the last ${rows} pixel row(s) and ${cols} column(s) are dropped ` +
    `(a ${gh}x${gw} patch grid), as the patch convolution drops them; ${below} or ${above} uses every pixel`];
}

/** Applies the requested image size (resampled position embeddings) and class count (new head). */
function adapt(stored: ViTConfig, params: Params, opts: LoadOptions, notes: string[], headPool?: ViTConfig["pool"], resizesTables = false): ViTConfig {
  const config = validateConfig({ ...stored, imageSize: opts.imageSize ?? stored.imageSize });
  if (opts.imageSize) checkForwardFits(config, opts.imageSize, 1); // every loader of a resized model (serve, the captioner's encoder) before any pass
  const [fromH, fromW] = gridSize(stored);
  const [toH, toW] = gridSize(config);
  if (opts.imageSize) notes.push(...partialPatchNote(config.imageSize, config.patchSize, [toH, toW]));
  const gridChanges = fromH !== toH || fromW !== toW;
  // transformers re-reads an HF BEiT table on every forward: from a non-square grid even its own size changes it
  if (stored.relativePositionBias && (gridChanges || (resizesTables && fromH !== fromW))) {
    if (!resizesTables) {
      throw new VitlensError(`a ${config.imageSize.join("x")} input needs BEiT's relative position table resized from a ${fromH}x${fromW} to a ${toH}x${toW} grid; ` +
        `vitlens resizes it as transformers does (HF BEiT / Data2Vec-vision files), not as timm's checkpoint filter does (this file's layout): run at ${stored.imageSize.join("x")}`);
    }
    for (const name of [...params.keys()].filter((k) => k.endsWith("relative_position_bias_table"))) {
      params.set(name, resizeRelativeTable(params.get(name) as Tensor, [fromH, fromW], [toH, toW]));
    }
    notes.push(gridChanges
      ? `relative position tables resized (bilinear, as transformers' BEiT does) from a ${fromH}x${fromW} to a ${toH}x${toW} patch grid`
      : `relative position tables re-read as transformers' BEiT reads a non-square ${fromH}x${fromW} grid's (as (2w-1) x (2h-1), resized bilinearly to (2h-1) x (2w-1))`);
  }
  if (gridChanges) {
    const mode = stored.posEmbedResample ?? "bicubic";
    if (params.has("pos_embed")) {
      params.set("pos_embed", resamplePosEmbed(params.get("pos_embed") as Tensor, [fromH, fromW], [toH, toW], posEmbedPrefix(stored), mode));
      notes.push(`position embeddings resampled (${mode === "bicubic" ? "bicubic" : "bicubic, antialiased"}) from a ${fromH}x${fromW} to a ${toH}x${toW} patch grid`);
    }
  }
  const classes = opts.numClasses ?? stored.numClasses;
  if (classes !== stored.numClasses || opts.newHead) {
    if (classes > 0) poolForNewHead(config, headPool, notes);
    newHeadParams(config, params, classes, opts.seed ?? 0);
    notes.push(`new head: ${classes} classes (checkpoint had ${stored.numClasses ? `${stored.numClasses}` : "no head"}), randomly initialised`);
  }
  return config;
}

/** A head added to a headless DINOv2 backbone reads what Dinov2ForImageClassification reads (`headPool`, unless --pool said otherwise). */
function poolForNewHead(config: ViTConfig, headPool: Pool | undefined, notes: string[]): void {
  if (!headPool || config.numClasses !== 0) return;
  config.pool = headPool;
  notes.push("the new head reads [CLS, mean of the patch tokens], as DINOv2's classifier does (--pool cls for CLS only)");
}

function newHeadParams(config: ViTConfig, params: Params, classes: number, seed: number): void {
  config.numClasses = classes;
  config.id2label = undefined;
  for (const k of ["head.weight", "head.bias", "head_dist.weight", "head_dist.bias"]) params.delete(k);
  if (classes > 0) {
    const rng = new Rng(seed);
    for (const [name, shape] of vitParameterShapes(config).filter(([n]) => n.startsWith("head.") || n.startsWith("head_dist."))) params.set(name, initParameter(name, shape, rng));
  }
}

/** A loaded model's head replaced by a randomly initialised one of `classes` classes (named LABEL_i until the caller names them). */
export function replaceHead(loaded: LoadedModel, classes: number, seed: number): void {
  if (classes > 0) poolForNewHead(loaded.model.config, loaded.newHeadPool, loaded.notes);
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
