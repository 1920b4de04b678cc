import { Command } from "commander";
import { getBackend } from "../backend/index.js";
import { trainCaptioner, type CaptionerTrainOptions } from "../caption/trainer.js";
import { VitlensError } from "../errors.js";
import { checkpointFlags, fraction, imageSize, num, positiveInt, withCheckpointFlags, MODEL_HELP, type CheckpointFlagValues } from "./options.js";
import { withInterrupt } from "./interrupt.js";
import { progressReporter } from "./progress.js";
import { resolveModel } from "./resolve-run.js";

interface Flags {
  captions?: string; images?: string; val?: string; valImages?: string; valSplit: number; encoder?: string; freezeEncoder?: boolean;
  out?: string; resume?: string; force?: boolean; epochs: number; batchSize: number; optimizer: string; lr: number; momentum: number;
  weightDecay: number; schedule: string; stepSize: number; gamma: number; warmupSteps: number; clipGrad: number; seed: number;
  imageSize?: [number, number]; decoderLayers: number; decoderHidden?: number; decoderHeads: number; decoderMlp?: number;
  maxLen?: number; minFreq: number; tie: boolean; evalImages: number; strict?: boolean;
}

export function trainCaptionerCommand(): Command {
  return withCheckpointFlags(new Command("train-captioner"), "the --encoder")
    .description("train a captioner (ViT encoder + Transformer decoder) on COCO-format captions")
    .option("--captions <json>", "COCO captions: images[{id, file_name}], annotations[{image_id, caption}]")
    .option("--images <dir>", "folder the file_names are relative to")
    .option("--val <json>", "held-out COCO captions (default: --val-split of --captions)")
    .option("--val-images <dir>", "folder for --val's images (default: --images)")
    .option("--val-split <f>", "hold out this fraction of the images when no --val", fraction, 0.05)
    .option("--encoder <spec>", `the image encoder: ${MODEL_HELP}`)
    .option("--freeze-encoder", "train only the decoder")
    .option("--out <run>", "run folder: metrics.jsonl, best/ and last/ captioners, resumable state")
    .option("--resume <run>", "continue a run exactly where it stopped")
    .option("--force", "start over in a non-empty --out folder")
    .option("--epochs <n>", "epochs", positiveInt, 10)
    .option("--batch-size <n>", "captions per step", positiveInt, 32)
    .option("--optimizer <sgd|adamw>", "optimizer", "adamw")
    .option("--lr <x>", "learning rate", num("--lr"), 1e-3)
    .option("--momentum <x>", "SGD momentum", num("--momentum"), 0.9)
    .option("--weight-decay <x>", "weight decay (not on biases, norms, embeddings)", num("--weight-decay"), 0.01)
    .option("--schedule <step|cosine|constant>", "learning-rate schedule", "cosine")
    .option("--step-size <epochs>", "StepLR period", positiveInt, 10)
    .option("--gamma <x>", "StepLR factor", num("--gamma"), 0.5)
    .option("--warmup-steps <n>", "cosine warmup steps", (v) => Math.floor(num("--warmup-steps")(v)), 100)
    .option("--clip-grad <x>", "clip the global gradient norm (0: off)", num("--clip-grad"), 1)
    .option("--seed <n>", "seed", (v) => Number(v), 0)
    .option("--image-size <HxW>", "encoder input size (position embeddings are resampled)", imageSize)
    .option("--decoder-layers <n>", "decoder layers", positiveInt, 2)
    .option("--decoder-hidden <d>", "decoder width (default: the encoder's)", positiveInt)
    .option("--decoder-heads <n>", "decoder attention heads", positiveInt, 4)
    .option("--decoder-mlp <n>", "decoder MLP width (default 4x hidden)", positiveInt)
    .option("--max-len <n>", "positions incl. <bos> (default: the longest caption + 2)", positiveInt)
    .option("--min-freq <n>", "words seen fewer times become <unk>", positiveInt, 1)
    .option("--no-tie", "a separate output projection instead of the token embedding")
    .option("--eval-images <n>", "held-out images captioned after each epoch (BLEU-4, exact match, grounding)", (v) => Math.floor(num("--eval-images")(v)), 200)
    .option("--strict", "fail on a missing image or an empty caption instead of skipping it")
    .action(async (f: Flags & CheckpointFlagValues) => {
      const be = getBackend();
      await withInterrupt(async (interrupted) => {
        if (f.resume) {
          return trainCaptioner({ resume: f.resume }, be, progressReporter(), interrupted);
        }
        if (!f.captions || !f.images || !f.encoder || !f.out) throw new VitlensError("train-captioner needs --captions, --images, --encoder and --out (or --resume RUN)");
        if (f.optimizer !== "sgd" && f.optimizer !== "adamw") throw new VitlensError(`--optimizer ${f.optimizer}: expected sgd or adamw`);
        if (!["step", "cosine", "constant"].includes(f.schedule)) throw new VitlensError(`--schedule ${f.schedule}: expected step, cosine or constant`);
        const options: CaptionerTrainOptions = {
          captions: f.captions, images: f.images, val: f.val ?? null, valImages: f.valImages ?? null, valSplit: f.valSplit,
          encoder: await resolveModel(f.encoder), checkpoint: checkpointFlags(f), freezeEncoder: f.freezeEncoder ?? false, out: f.out, epochs: f.epochs, batchSize: f.batchSize,
          optimizer: f.optimizer, lr: f.lr, momentum: f.momentum, weightDecay: f.weightDecay, schedule: f.schedule as CaptionerTrainOptions["schedule"],
          stepSize: f.stepSize, gamma: f.gamma, warmupSteps: f.warmupSteps, clipGrad: f.clipGrad, seed: f.seed, imageSize: f.imageSize ?? null,
          decoderLayers: f.decoderLayers, decoderHidden: f.decoderHidden ?? null, decoderHeads: f.decoderHeads, decoderMlp: f.decoderMlp ?? null,
          maxLength: f.maxLen ?? null, minFrequency: f.minFreq, tieEmbeddings: f.tie, evalImages: f.evalImages, strict: f.strict ?? false,
        };
        return trainCaptioner(options, be, progressReporter(), interrupted, f.force ?? false);
      });
    });
}
