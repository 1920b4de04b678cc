import { z } from "zod";
import { PRECISIONS } from "../backend/precision.js";
import { VitlensError } from "../errors.js";
import { POOLS } from "../models/vit-config.js";
import { ACTIVATIONS } from "../nn/activation.js";

/*
 * The options of a run, as schemas: the TypeScript types come from them, and `--resume` checks
 * the options saved with a run's state against them instead of trusting the file. Fields added
 * after a run was written take their defaults, so older runs still resume.
 */

/** The largest image side any command takes: the attention a forward pass keeps grows with its fourth power (cli/load-model.ts checks the rest). */
export const MAX_IMAGE_SIDE = 4096;

const side = z.number().int(`expected whole pixels`).min(1, "expected at least 1 pixel").max(MAX_IMAGE_SIDE, `expected at most ${MAX_IMAGE_SIDE} pixels a side`);
/** --image-size as (height, width). */
export const imageSizeSchema = z.tuple([side, side]);
const size = imageSizeSchema;

/** A number in [lo, hi) or [lo, hi], said as the flag's help says it. */
const inRange = (lo: number, hi: number, hiOpen: boolean, what: string) => {
  const expected = `expected ${what} in [${lo}, ${hi}${hiOpen ? ")" : "]"}`;
  const n = z.number(expected).min(lo, expected);
  return hiOpen ? n.lt(hi, expected) : n.max(hi, expected);
};
const nonNegative = (what: string) => z.number(`expected ${what} >= 0`).nonnegative(`expected ${what} >= 0`);
const count = (what: string, min: 0 | 1) => z.number(`expected ${what}`).int(`expected a whole number of ${what}`).min(min, `expected ${min === 1 ? "at least 1" : "0 or more"} ${what}`);
/** A probability of dropping: [0, 1). */
export const dropoutSchema = inRange(0, 1, true, "a dropout probability");

/** What a checkpoint may not record (--heads, --labels, --crop-pct, --norm, ...): CheckpointFlags in checkpoint/load.ts. */
const checkpointFlags = z.object({
  heads: z.number().int().positive().optional(),
  labelsFile: z.string().optional(),
  cropPct: z.number().positive("expected a fraction in (0, 1]").max(1, "expected a fraction in (0, 1]").optional(),
  imageSize: size.optional(),
  norm: z.enum(["pre", "post"]).optional(),
  activation: z.enum(ACTIVATIONS).optional(),
  pool: z.enum(POOLS).optional(),
  lnEps: z.number().positive().optional(),
  mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
  std: z.tuple([z.number(), z.number(), z.number()]).optional(),
  interpolation: z.enum(["nearest", "bilinear", "bicubic", "lanczos"]).optional(),
  keymap: z.string().optional(),
});

/** What every trainer shares: optimizer, schedule, length, batch, seed. One flag builder (cli/optimizer-flags.ts) fills it. */
export const optimizationSchema = z.object({
  optimizer: z.enum(["sgd", "adamw"]),
  lr: nonNegative("a learning rate"),
  momentum: inRange(0, 1, true, "a momentum"),
  nesterov: z.boolean().default(false),
  weightDecay: nonNegative("a weight decay"),
  schedule: z.enum(["step", "cosine", "constant"]),
  stepSize: count("epochs", 1),
  gamma: nonNegative("a learning-rate factor"),
  warmupSteps: count("steps", 0),
  clipGrad: nonNegative("a gradient norm"), // 0: off
  epochs: count("epochs", 1),
  batchSize: count("images per step", 1),
  seed: z.number().int(),
  strict: z.boolean().default(false),
  /** The matrix products' precision (backend/precision.ts); runs from before the flag trained in fp32. */
  precision: z.enum(PRECISIONS).default("fp32"),
});
export type OptimizationOptions = z.infer<typeof optimizationSchema>;

export const trainOptionsSchema = optimizationSchema.extend({
  model: z.string(),
  data: z.string(),
  val: z.string().nullable(),
  valSplit: inRange(0, 1, true, "a fraction"),
  out: z.string(),
  imageSize: size.nullable(),
  labelSmoothing: inRange(0, 1, true, "a smoothing share"),
  freeze: z.string(),
  headLrScale: nonNegative("a learning-rate multiplier"),
  augment: z.boolean(),
  flip: z.boolean(),
  minScale: z.number("expected an area share in (0, 1]").positive("expected an area share in (0, 1]").max(1, "expected an area share in (0, 1]"),
  hiddenDropout: dropoutSchema.nullable(),
  attentionDropout: dropoutSchema.nullable(),
  /** Preset overrides for training from scratch (patchSize, hiddenSize, numLayers, numHeads, mlpSize). */
  architecture: z.record(z.string(), z.number()),
  /** --heads / --labels / --crop-pct for the checkpoint (absent in runs from before these flags). */
  checkpoint: checkpointFlags.optional(),
  newHead: z.boolean(),
  recipe: z.string().nullable(),
  /** Which part of a dataset with splits, configs and columns (HF datasets); absent in older runs. */
  dataOptions: z.object({
    split: z.string().optional(), config: z.string().optional(), imageColumn: z.string().optional(), labelColumn: z.string().optional(),
  }).default({}),
  /** EXIF orientation applied to photos (--no-exif-rotate turns it off); runs from before read them as stored. */
  exifRotate: z.boolean().default(true),
});
/** What a caller gives (fields with defaults optional); `trainOptionsSchema.parse` fills them in. */
export type TrainOptions = z.input<typeof trainOptionsSchema>;
export type ResolvedTrainOptions = z.output<typeof trainOptionsSchema>;

export const captionerTrainOptionsSchema = optimizationSchema.extend({
  captions: z.string(),
  images: z.string(),
  val: z.string().nullable(), // COCO captions of a held-out split (images under valImages)
  valImages: z.string().nullable(),
  valSplit: inRange(0, 1, true, "a fraction"), // without --val: this share of the training images is held out
  encoder: z.string(),
  /** A whole pretrained captioner to start from (a folder; vitlens' or an HF VisionEncoderDecoder): --encoder and --decoder-* are then unused. */
  init: z.string().nullable().default(null),
  checkpoint: checkpointFlags.optional(), // --heads / --labels / --crop-pct for the --encoder checkpoint
  freezeEncoder: z.boolean(),
  out: z.string(),
  imageSize: size.nullable(),
  decoderLayers: z.number().int().positive(),
  decoderHidden: z.number().int().positive().nullable(), // default: the encoder's width
  decoderHeads: z.number().int().positive(),
  decoderMlp: z.number().int().positive().nullable(), // default: 4x hidden
  maxLength: z.number().int().positive().nullable(), // positions incl. <bos>; default: the longest training caption + 2
  minFrequency: z.number().int().positive(),
  tieEmbeddings: z.boolean(),
  evalImages: z.number().int().nonnegative(), // held-out images captioned (greedy) after each epoch
});
export type CaptionerTrainOptions = z.input<typeof captionerTrainOptionsSchema>;
export type ResolvedCaptionerTrainOptions = z.output<typeof captionerTrainOptionsSchema>;

/** `weightDecay` -> `--weight-decay`: the flag that sets an option field. */
export const flagOf = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** A new run's options, checked: one line naming the flag, its value and what was expected. */
export function parseNewOptions<S extends z.ZodType>(schema: S, given: unknown): z.output<S> {
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.map(String);
  const value = field.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], given);
  const name = field[0] === "checkpoint" && field.length > 1 ? flagOf(field[1]) : field.length ? flagOf(field[0]) : "options";
  throw new VitlensError(`${name}${value === undefined || typeof value === "object" ? "" : ` ${value}`}: ${issue.message}`);
}

/** Options saved with a run (its state, or run.json), checked: one line naming where, the field and what was expected. */
export function parseSavedOptions<S extends z.ZodType>(schema: S, saved: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(saved);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new VitlensError(
    `${where}: the saved run options do not fit this vitlens (${issue.path.join(".") || "options"}: ${issue.message}); ` +
      "start a new run, or use the vitlens version that wrote it",
  );
}
