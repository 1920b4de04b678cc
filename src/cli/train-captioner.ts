import { existsSync } from "node:fs";
import { Command } from "commander";
import { CAPTIONER_PRESETS } from "../caption/captioner-presets.js";
import { getBackend } from "../backend/index.js";
import { trainCaptioner, type CaptionerTrainOptions } from "../caption/trainer.js";
import { VitlensError } from "../errors.js";
import { checkpointFlags, num, positiveInt, schemaArg, withCheckpointFlags, MODEL_HELP, type CheckpointFlagValues } from "./options.js";
import { addOptimizationFlags, addRunFolderFlags, resolveOptimization, type OptimizationDefaults, type OptimizationFlags } from "./optimization-flags.js";
import { captionerTrainOptionsSchema } from "../train/run-options.js";
import { checkFreshRunFolder } from "../train/run-loop.js";
import { prepareOutputs } from "./outputs.js";
import { resumeRequest, runInterruptibly } from "./run-command.js";
import { resolveCaptionerDir, resolveModel } from "./resolve-run.js";

interface Flags extends OptimizationFlags {
  captions?: string; images?: string; val?: string; valImages?: string; valSplit: number; encoder?: string; init?: string; freezeEncoder?: boolean;
  out?: string; resume?: string; force?: boolean; imageSize?: [number, number]; decoderLayers: number; decoderHidden?: number;
  decoderHeads: number; decoderMlp?: number; maxLen?: number; minFreq: number; tie: boolean; evalImages: number;
}

/** The captioner's defaults: AdamW with a warmed-up cosine, clipped gradients. */
const DEFAULTS: OptimizationDefaults = {
  optimizer: "adamw", lr: () => 1e-3, momentum: 0.9, weightDecay: () => 0.01, schedule: "cosine", stepSize: 10, gamma: 0.5,
  warmupSteps: 100, clipGrad: 1, epochs: 10, batchSize: 32,
};

export function trainCaptionerCommand(): Command {
  const cmd = withCheckpointFlags(new Command("train-captioner"), "the --encoder", "encoder input size (position embeddings are resampled)")
    .description("train a captioner (ViT encoder + Transformer decoder) on COCO-format captions")
    .option("--captions <json>", "COCO captions: images[{id, file_name}], annotations[{image_id, caption}]")
    .option("--images <dir>", "folder the file_names are relative to")
    .option("--val <json>", "held-out COCO captions (default: --val-split of --captions)")
    .option("--val-images <dir>", "folder for --val's images (default: --images)")
    .option("--val-split <f>", "hold out this fraction of the images when no --val", schemaArg(captionerTrainOptionsSchema.shape.valSplit), 0.05)
    .option("--encoder <spec>", `the image encoder: ${MODEL_HELP}`)
    .option("--init <spec>", "start from a whole pretrained captioner instead of --encoder + --decoder-*: a captioner folder, or a Hugging Face ViT + GPT-2 VisionEncoderDecoder folder or Hub id; its layout is written back (HF: transformers loads best/ and last/)")
    .option("--freeze-encoder", "train only the decoder");
  return addOptimizationFlags(addRunFolderFlags(cmd, "captioners"), DEFAULTS, "fail on a missing image or an empty caption instead of skipping it")
    .option("--decoder-layers <n>", "decoder layers", positiveInt, 2)
    .option("--decoder-hidden <d>", "decoder width (default: the encoder's)", positiveInt)
    .option("--decoder-heads <n>", "decoder attention heads", positiveInt, 4)
    .option("--decoder-mlp <n>", "decoder MLP width (default 4x hidden)", positiveInt)
    .option("--max-len <n>", "positions incl. <bos> (default: the longest caption + 2)", positiveInt)
    .option("--min-freq <n>", "words seen fewer times become <unk>", positiveInt, 1)
    .option("--no-tie", "a separate output projection instead of the token embedding")
    .option("--eval-images <n>", "held-out images captioned after each epoch (BLEU-4, exact match, grounding)", (v) => Math.floor(num("--eval-images")(v)), 200)
    .action(async (f: Flags & CheckpointFlagValues, cmd: Command) => {
      const be = getBackend();
      if (f.resume) {
        const resume = resumeRequest(cmd, f.resume, f.precision, f.epochs);
        return runInterruptibly((interrupted, reporter) => trainCaptioner({ ...resume, note: reporter.log }, be, reporter, interrupted));
      }
      if (f.init && f.encoder) throw new VitlensError("--init starts from a whole captioner (its own encoder): give --init or --encoder, not both");
      if (!f.captions || !f.images || !(f.encoder || f.init) || !f.out) throw new VitlensError("train-captioner needs --captions, --images, --encoder (or --init) and --out (or --resume RUN)");
      checkFreshRunFolder(f.out, f.force ?? false);
      prepareOutputs([{ flag: "--out", path: f.out, kind: "folder" }]);
      if (f.init && f.init in CAPTIONER_PRESETS && !existsSync(f.init)) {
        throw new VitlensError(`--init ${f.init}: a preset has random weights and no tokenizer files to write back; --init takes a captioner folder or Hub id`);
      }
      const init = f.init ? await resolveCaptionerDir(f.init, "--init") : null;
      const options: CaptionerTrainOptions = {
        ...resolveOptimization(f, {}, DEFAULTS),
        captions: f.captions, images: f.images, val: f.val ?? null, valImages: f.valImages ?? null, valSplit: f.valSplit,
        encoder: init ?? await resolveModel(f.encoder!, "--encoder"), init, checkpoint: checkpointFlags(f), freezeEncoder: f.freezeEncoder ?? false, out: f.out, imageSize: f.imageSize ?? null,
        decoderLayers: f.decoderLayers, decoderHidden: f.decoderHidden ?? null, decoderHeads: f.decoderHeads, decoderMlp: f.decoderMlp ?? null,
        maxLength: f.maxLen ?? null, minFrequency: f.minFreq, tieEmbeddings: f.tie, evalImages: f.evalImages,
      };
      return runInterruptibly((interrupted, reporter) => trainCaptioner(options, be, reporter, interrupted, f.force ?? false));
    });
}
