import { InvalidArgumentError, type Command } from "commander";
import type { z } from "zod";
import { imageSizeSchema } from "../train/run-options.js";
import type { CheckpointFlags } from "../checkpoint/load.js";
import { POOLS } from "../models/vit-config.js";
import { ACTIVATIONS, type Activation } from "../nn/activation.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { getBackend, type Backend } from "../backend/index.js";
import { parsePrecisionRequest, resolvePrecision, withPrecision, type PrecisionRequest } from "../backend/precision.js";

/** Commander parsers that reject bad flag values with a message naming what was expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/**
 * A flag's value checked by the zod schema of the option it sets (train/run-options.ts), so a
 * flag and a saved run accept the same values: commander says the flag, the value and the
 * schema's "expected ..." in one line.
 */
export function schemaArg<T>(schema: z.ZodType<T>, convert: (v: string) => unknown = toNumber): (v: string) => T {
  return (v: string) => {
    const r = schema.safeParse(convert(v));
    if (!r.success) throw new InvalidArgumentError(r.error.issues[0].message);
    return r.data;
  };
}

/** A number as written ("" and spaces are not 0). */
const toNumber = (v: string): number => (v.trim() === "" ? NaN : Number(v));

/** "224" or "224x160" (height x width), each side within the schema's bounds. */
export const imageSize = schemaArg(imageSizeSchema, (value: string) => {
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a size like "224" or "224x160" (height x width)');
  const h = Number(m[1]);
  return [h, m[2] ? Number(m[2]) : h];
});

/** How every command's --model is described: what resolveModel accepts. */
export const MODEL_HELP = "run folder, model directory, .safetensors/.pth/.npz file, preset, or Hugging Face Hub id owner/name[@revision]";

/** A non-negative number for the flag `name`. */
export const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number for ${name}`);
  return n;
};

export const fraction = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError("expected a fraction in [0, 1)");
  return n;
};

/** A crop fraction in (0, 1]. */
export const cropPct = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("expected a fraction in (0, 1], e.g. 0.875 for torchvision's 256 -> 224");
  return n;
};

/** The flags `withCheckpointFlags` adds, as commander parses them. */
export interface CheckpointFlagValues {
  heads?: number;
  labels?: string;
  cropPct?: number;
  imageSize?: [number, number];
  norm?: "pre" | "post";
  activation?: Activation;
  pool?: (typeof POOLS)[number];
  lnEps?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
  interpolation?: PreprocessConfig["resample"];
  keymap?: string;
}

const oneOf = <T extends string>(values: readonly T[]) => (v: string): T => {
  if (!values.includes(v as T)) throw new InvalidArgumentError(`expected one of ${values.join(", ")}`);
  return v as T;
};

/** "0.5,0.5,0.5": three numbers, one per channel. */
export function channelTriple(v: string): [number, number, number] {
  const parts = v.split(",").map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError('expected three numbers, one per channel, like "0.485,0.456,0.406"');
  return parts as [number, number, number];
}

const positiveNumber = (v: string): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError("expected a positive number");
  return n;
};

/**
 * What a checkpoint may not record, said the same way on every command that loads a ViT (see
 * CheckpointFlags in checkpoint/load.ts): the architecture a state dict cannot hold (--heads,
 * --norm, --activation, --pool, --ln-eps, --keymap), the pixels (--image-size, --mean, --std,
 * --interpolation, --crop-pct) and the class names (--labels). Each overrides the checkpoint's config.
 */
export function withCheckpointFlags(cmd: Command, what = "the model", imageSizeHelp = "run at this size (position embeddings resampled as the family does)"): Command {
  return cmd
    .option("--heads <n>", `attention heads of ${what} (needed when the checkpoint does not record them; overrides the config)`, positiveInt)
    .option("--image-size <HxW>", imageSizeHelp, imageSize)
    .option("--norm <pre|post>", `where ${what}'s block norms sit, when its file does not say (nn.TransformerEncoder: norm_first=True is pre)`, oneOf(["pre", "post"] as const))
    .option("--activation <name>", `${what}'s MLP activation, when its file does not say (${ACTIVATIONS.join(", ")})`, oneOf(ACTIVATIONS))
    .option("--pool <kind>", `what ${what}'s head reads: cls, avg (patch tokens), avg-all (every token), cls+avg (DINOv2's classifier)`, oneOf(POOLS))
    .option("--ln-eps <x>", `LayerNorm epsilon of ${what}, when its file does not say`, positiveNumber)
    .option("--keymap <file>", "a JSON map from the checkpoint's key names to vitlens' (for names no known family uses; see README)")
    .option("--labels <file>", `class names of ${what}, one per line (as many as its classes)`)
    .option("--mean <r,g,b>", "normalisation mean per channel (default: the checkpoint's)", channelTriple)
    .option("--std <r,g,b>", "normalisation std per channel (default: the checkpoint's)", channelTriple)
    .option("--interpolation <name>", "resampling of the input images: bilinear, bicubic, nearest or lanczos (default: the checkpoint's)", oneOf(["bilinear", "bicubic", "nearest", "lanczos"] as const))
    .option("--crop-pct <p>", "resize the shorter side to size/p, then centre-crop (torchvision's 256 -> 224 is 0.875)", cropPct);
}

/** The parsed flags as LoadOptions fields (undefined ones left out). */
export function checkpointFlags(f: CheckpointFlagValues): CheckpointFlags {
  const all: CheckpointFlags = {
    heads: f.heads, labelsFile: f.labels, cropPct: f.cropPct, imageSize: f.imageSize, norm: f.norm, activation: f.activation,
    pool: f.pool, lnEps: f.lnEps, mean: f.mean, std: f.std, interpolation: f.interpolation, keymap: f.keymap,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as CheckpointFlags;
}

/** The flag `withPrecisionFlag` adds, as commander parses it. */
export interface PrecisionFlagValues {
  precision?: PrecisionRequest;
}

/**
 * --precision on every command that runs a model: the matrix products' precision (see
 * backend/precision.ts). Unset means fp32 (a resumed run: what the run recorded).
 */
export function withPrecisionFlag(cmd: Command, unset = "fp32"): Command {
  return cmd.option(
    "--precision <p>",
    `matrix products: fp32, bf16 (bf16 operands, fp32 accumulation; needs AVX512-BF16 or AMX), auto (bf16 where the CPU has it), or bf16-emulated (the bf16 policy on any CPU, slower; for tests) (default ${unset})`,
    (v: string) => {
      try {
        return parsePrecisionRequest(v);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message.replace(/^--precision \S+: /, ""));
      }
    },
  );
}

/** The backend at the flag's precision; prints what `auto` chose. */
export function precisionBackend(f: PrecisionFlagValues, be: Backend = getBackend()): Backend {
  const { precision, note } = resolvePrecision(f.precision ?? "fp32", be);
  if (note) process.stderr.write(`vitlens: ${note}\n`);
  return withPrecision(be, precision);
}

/** The flags `withDataFlags` adds: which part of a dataset with splits, configs and columns to read. */
export interface DataFlagValues {
  split?: string;
  config?: string;
  imageColumn?: string;
  labelColumn?: string;
}

/** --split, --config, --image-column, --label-column: the same on every command that reads labelled data. */
export function withDataFlags(cmd: Command, splitHelp: string): Command {
  return cmd
    .option("--split <name>", splitHelp)
    .option("--config <name>", "the dataset's config, for Hugging Face datasets with several")
    .option("--image-column <name>", "the image column of a parquet dataset (default: its Image feature)")
    .option("--label-column <name>", "the label column of a parquet dataset or imagefolder metadata (default: its ClassLabel, else label)");
}

export function dataFlags(f: DataFlagValues): DataFlagValues {
  return Object.fromEntries(Object.entries({ split: f.split, config: f.config, imageColumn: f.imageColumn, labelColumn: f.labelColumn }).filter(([, v]) => v !== undefined));
}

/** --no-exif-rotate on every command that reads photos (main.ts applies it before the action). */
export function withExifFlag(cmd: Command): Command {
  return cmd.option("--no-exif-rotate", "do not apply EXIF orientation (applied by default, as PIL's exif_transpose and transformers' load_image do)");
}
