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

const size = z.tuple([z.number().int().positive(), z.number().int().positive()]);

/** What a checkpoint may not record (--heads, --labels, --crop-pct, --norm, ...): CheckpointFlags in checkpoint/load.ts. */
const checkpointFlags = z.object({
  heads: z.number().int().positive().optional(),
  labelsFile: z.string().optional(),
  cropPct: z.number().positive().max(1).optional(),
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
  lr: z.number().nonnegative(),
  momentum: z.number().nonnegative(),
  nesterov: z.boolean().default(false),
  weightDecay: z.number().nonnegative(),
  schedule: z.enum(["step", "cosine", "constant"]),
  stepSize: z.number().int().positive(),
  gamma: z.number().nonnegative(),
  warmupSteps: z.number().int().nonnegative(),
  clipGrad: z.number().nonnegative(), // 0: off
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
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
  valSplit: z.number().min(0).max(1),
  out: z.string(),
  imageSize: size.nullable(),
  labelSmoothing: z.number().min(0).max(1),
  freeze: z.string(),
  headLrScale: z.number().nonnegative(),
  augment: z.boolean(),
  flip: z.boolean(),
  minScale: z.number().min(0).max(1),
  hiddenDropout: z.number().min(0).max(1).nullable(),
  attentionDropout: z.number().min(0).max(1).nullable(),
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
  valSplit: z.number().min(0).max(1), // without --val: this share of the training images is held out
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
