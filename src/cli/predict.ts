import { UnreadableImageError } from "../data/raw-image.js";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { Command } from "commander";
import { writeFileAtomic } from "../io/atomic-write.js";
import { resolveModel } from "./resolve-run.js";
import { loadModel } from "../checkpoint/load.js";
import { VitlensError } from "../errors.js";
import { expandImages } from "../data/image-files.js";
import { loadImage, stackImages } from "../data/preprocess.js";
import { softmax, topK } from "../models/scores.js";
import { withExifFlag, positiveInt, MODEL_HELP, checkpointFlags, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";

interface PredictOptions {
  model: string;
  csv?: string;
  force?: boolean;
  topK: number;
  json?: boolean;
  batchSize: number;
  imageSize?: [number, number];
  strict?: boolean;
}

export function predictCommand(): Command {
  return withExifFlag(withPrecisionFlag(withCheckpointFlags(new Command("predict"))))
    .description("classify images; --json prints one object per image per line")
    .requiredOption("--model <spec>", MODEL_HELP)
    .option("--top-k <k>", "how many classes to show", positiveInt, 5)
    .option("--json", "one JSON object per image: {image, logits, top}")
    .option("--batch-size <n>", "images per forward pass", positiveInt, 8)
    .option("--csv <file>", "also write filename,label rows (the predicted class index) to this file")
    .option("--force", "overwrite an existing --csv file")
    .option("--strict", "stop at the first unreadable image instead of skipping it")
    .argument("<images...>", "image files (JPEG, PNG, WebP, ...) or folders of them")
    .action(async (args: string[], opts: PredictOptions & CheckpointFlagValues & PrecisionFlagValues) => {
      const images = expandImages(args);
      if (opts.csv && existsSync(opts.csv) && !opts.force) throw new VitlensError(`--csv ${opts.csv}: file exists (use --force to overwrite)`);
      const csvRows: string[] = ["filename,label"];
      const { model, preprocess, labels, notes } = loadModel(await resolveModel(opts.model), { imageSize: opts.imageSize, ...checkpointFlags(opts) });
      if (model.config.numClasses === 0) throw new VitlensError(`${opts.model}: the model has no classification head; nothing to predict (a backbone: attention, posemb, inspect and serve work on it, and train adds a head)`);
      if (!opts.json) for (const n of notes) process.stderr.write(`vitlens: ${n}\n`);
      const be = precisionBackend(opts);
      const k = Math.min(opts.topK, model.config.numClasses);
      const skipped: string[] = [];
      for (let start = 0; start < images.length; start += opts.batchSize) {
        const loaded = await Promise.all(images.slice(start, start + opts.batchSize).map((p) => loadImage(p, preprocess).catch((e: unknown) => {
          // one policy for bad files: named on stderr, counted, the rest still predicted (--strict stops)
          if (opts.strict || !(e instanceof VitlensError)) throw e;
          process.stderr.write(`vitlens: skipped ${e.message}\n`);
          skipped.push(e.message);
          // --json: a line for every image given, the skipped ones with why instead of logits
          if (opts.json) process.stdout.write(JSON.stringify({ image: p, skipped: e instanceof UnreadableImageError ? `not a readable image (${e.reason})` : e.message }) + "\n");
          return null;
        })));
        const batch = images.slice(start, start + opts.batchSize).filter((_, i) => loaded[i] !== null);
        if (batch.length === 0) continue;
        const pixels = stackImages(batch, loaded.filter((t) => t !== null));
        const logits = model.forward(pixels, be).logits!;
        const C = model.config.numClasses;
        batch.forEach((image, i) => {
          const row = Array.from(logits.data.subarray(i * C, (i + 1) * C));
          const top = topK(softmax(row), k).map(({ index, score }) => ({ index, label: labels[index], score }));
          csvRows.push(`${basename(image)},${top[0].index}`);
          if (opts.json) {
            process.stdout.write(JSON.stringify({ image, logits: row, top }) + "\n");
          } else {
            process.stdout.write(`${image}\n`);
            for (const t of top) process.stdout.write(`  ${(100 * t.score).toFixed(2).padStart(6)}%  ${t.label} (${t.index})\n`);
          }
        });
      }
      const predicted = csvRows.length - 1;
      if (opts.csv && predicted > 0) {
        writeFileAtomic(opts.csv, [csvRows.join("\n") + "\n"]);
        process.stderr.write(`vitlens: wrote ${predicted} predictions to ${opts.csv}\n`);
      }
      if (skipped.length && predicted > 0) process.stderr.write(`vitlens: ${predicted} image(s) predicted, ${skipped.length} skipped (not readable)\n`);
      if (predicted === 0) throw new VitlensError(`none of the ${images.length} image(s) could be read`);
    });
}
