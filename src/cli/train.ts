import { resolveData, resolveModel } from "./resolve-run.js";
import { Command } from "commander";
import { VitlensError } from "../errors.js";
import { SEED_RECIPE, train, trainDataSelection, type TrainOptions } from "../train/trainer.js";
import { getBackend } from "../backend/index.js";
import { checkpointFlags, dataFlags, withDataFlags, withExifFlag, type DataFlagValues, positiveInt, schemaArg, withCheckpointFlags, MODEL_HELP, type CheckpointFlagValues } from "./options.js";
import { addOptimizationFlags, addRunFolderFlags, resolveOptimization, type OptimizationDefaults, type OptimizationFlags } from "./optimization-flags.js";
import { trainOptionsSchema } from "../train/run-options.js";
import { checkFreshRunFolder } from "../train/run-loop.js";
import { runInterruptibly, resumeRequest } from "./run-command.js";
import { prepareOutputs } from "./outputs.js";

interface Flags extends OptimizationFlags, DataFlagValues {
  model?: string; data?: string; val?: string; valSplit: number; out?: string; resume?: string; force?: boolean;
  recipe?: string; imageSize?: [number, number]; labelSmoothing: number; freeze?: string; headLrScale: number;
  augment: boolean; flip: boolean; cropScale: number; hiddenDropout?: number; attentionDropout?: number;
  patchSize?: number; hiddenSize?: number; layers?: number; mlpSize?: number; newHead?: boolean; exifRotate: boolean;
}

/** The classifier's defaults (the seed recipe's SGD + StepLR shape). */
const DEFAULTS: OptimizationDefaults = {
  optimizer: "sgd", lr: (opt) => (opt === "adamw" ? 1e-3 : 0.01), momentum: 0.9, weightDecay: (opt) => (opt === "adamw" ? 0.05 : 0),
  schedule: "step", stepSize: 10, gamma: 0.5, warmupSteps: 0, clipGrad: 0, epochs: 10, batchSize: 32,
};

export function trainCommand(): Command {
  const t = trainOptionsSchema.shape; // each flag accepts what a saved run's option does
  // --heads (from withCheckpointFlags) also sets a preset's heads when training from scratch
  const cmd = withExifFlag(withDataFlags(withCheckpointFlags(new Command("train"), "the model", "train at this size (position embeddings resampled)"), "the split to train on, for data with splits (default: train; validation, else test, validates)"))
    .description("fine-tune a ViT (or train one from a preset) on an image dataset")
    .option("--model <spec>", MODEL_HELP)
    .option("--data <path>", "class folders, <label>_*.png folder, filename,label CSV, *-images-idx3-ubyte[.gz], a Hugging Face dataset folder or .parquet")
    .option("--val <path>", "separate validation data (same forms as --data)")
    .option("--val-split <f>", "hold out this fraction of --data for validation when there is no --val and no validation split", schemaArg(t.valSplit), 0.1)
    .option("--recipe <name>", "seed: SGD lr 1e-5, momentum 0.9, StepLR(10, 0.5), all layers trainable, a new head");
  return addOptimizationFlags(addRunFolderFlags(cmd, "models (HF layout)"), DEFAULTS, "fail on a corrupt image instead of skipping it")
    .option("--label-smoothing <e>", "cross-entropy label smoothing, in [0, 1)", schemaArg(t.labelSmoothing), 0)
    .option("--freeze <spec>", "freeze parameters: backbone, or e.g. patch_embed,blocks.0-5 (default: nothing frozen)")
    .option("--head-lr-scale <k>", "learning-rate multiplier for the head", schemaArg(t.headLrScale), 1)
    .option("--new-head", "replace the head even if the class count and labels match")
    .option("--no-augment", "no random crop / flip")
    .option("--no-flip", "no horizontal flip (digits, text)")
    .option("--crop-scale <s>", "smallest random-resized-crop area share, in (0, 1]", schemaArg(t.minScale), 0.6)
    .option("--hidden-dropout <p>", "override the config's hidden dropout", schemaArg(t.hiddenDropout.unwrap()))
    .option("--attention-dropout <p>", "override the config's attention dropout", schemaArg(t.attentionDropout.unwrap()))
    .option("--patch-size <p>", "preset override (from scratch)", positiveInt)
    .option("--hidden-size <d>", "preset override (from scratch)", positiveInt)
    .option("--layers <n>", "preset override (from scratch)", positiveInt)
    .option("--mlp-size <n>", "preset override (from scratch)", positiveInt)
    .action(async (f: Flags & CheckpointFlagValues, cmd: Command) => {
      const be = getBackend();
      if (f.resume) {
        const resume = resumeRequest(cmd, f.resume, f.precision, f.epochs);
        return runInterruptibly((interrupted, reporter) => train({ ...resume, note: reporter.log }, be, reporter, interrupted));
      }
      if (!f.model || !f.data || !f.out) throw new VitlensError("train needs --model, --data and --out (or --resume RUN)");
      checkFreshRunFolder(f.out, f.force ?? false);
      prepareOutputs([{ flag: "--out", path: f.out, kind: "folder" }]);
      const recipe = f.recipe === undefined ? {} : f.recipe === "seed" ? SEED_RECIPE : null;
      if (!recipe) throw new VitlensError(`--recipe ${f.recipe}: unknown (expected "seed")`);
      const architecture: Record<string, number> = {};
      for (const [k, v] of Object.entries({ patchSize: f.patchSize, hiddenSize: f.hiddenSize, numLayers: f.layers, mlpSize: f.mlpSize })) {
        if (v !== undefined) architecture[k] = v;
      }
      const hub = trainDataSelection({ split: f.split, config: f.config, val: f.val !== undefined });
      const options: TrainOptions = {
        ...resolveOptimization(f, recipe, DEFAULTS),
        model: await resolveModel(f.model), data: await resolveData(f.data, hub.data), val: f.val ? await resolveData(f.val, hub.val) : null, valSplit: f.valSplit, out: f.out,
        imageSize: f.imageSize ?? null, labelSmoothing: f.labelSmoothing, freeze: f.freeze ?? "", headLrScale: f.headLrScale,
        augment: f.augment, flip: f.flip, minScale: f.cropScale, hiddenDropout: f.hiddenDropout ?? null,
        attentionDropout: f.attentionDropout ?? null, architecture, checkpoint: checkpointFlags(f), newHead: f.newHead ?? false, recipe: f.recipe ?? null,
        dataOptions: dataFlags(f), exifRotate: f.exifRotate,
      };
      return runInterruptibly((interrupted, reporter) => train(options, be, reporter, interrupted, f.force ?? false));
    });
}
