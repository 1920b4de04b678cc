import { InvalidArgumentError, type Command } from "commander";
import type { CheckpointFlags } from "../checkpoint/load.js";
import { getBackend, type Backend } from "../backend/index.js";
import { parsePrecisionRequest, resolvePrecision, withPrecision, type PrecisionRequest } from "../backend/precision.js";

/** Commander parsers that reject bad flag values with a message naming what was expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** "224" or "224x160" (height x width). */
export function imageSize(value: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a size like "224" or "224x160" (height x width)');
  const h = Number(m[1]);
  return [h, m[2] ? Number(m[2]) : h];
}

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
}

/**
 * What a checkpoint may not record, said the same way on every command that loads a ViT:
 * --heads N, --labels FILE, --crop-pct P (see CheckpointFlags in checkpoint/load.ts).
 */
export function withCheckpointFlags(cmd: Command, what = "the model"): Command {
  return cmd
    .option("--heads <n>", `attention heads of ${what} (needed when the checkpoint does not record them; overrides the config)`, positiveInt)
    .option("--labels <file>", `class names of ${what}, one per line (as many as its classes)`)
    .option("--crop-pct <p>", "resize the shorter side to size/p, then centre-crop (torchvision's 256 -> 224 is 0.875)", cropPct);
}

/** The parsed flags as LoadOptions fields. */
export function checkpointFlags(f: CheckpointFlagValues): CheckpointFlags {
  return {
    ...(f.heads !== undefined ? { heads: f.heads } : {}),
    ...(f.labels !== undefined ? { labelsFile: f.labels } : {}),
    ...(f.cropPct !== undefined ? { cropPct: f.cropPct } : {}),
  };
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
