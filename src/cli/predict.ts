import { UnreadableImageError } from "../data/raw-image.js";
import { basename } from "node:path";
import { Command } from "commander";
import { writeFileAtomic } from "../io/atomic-write.js";
import { VitlensError } from "../errors.js";
import { expandImages } from "../data/image-files.js";
import { loadImage, stackImages } from "../data/preprocess.js";
import { softmax, topK } from "../models/scores.js";
import { plural } from "../words.js";
import { withExifFlag, positiveInt, MODEL_HELP, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { catchInterrupt, stoppedEarly } from "./interrupt.js";
import { loadCliModel } from "./load-model.js";
import { prepareOutputs } from "./outputs.js";
import { taskProgress } from "./progress.js";

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
    .action(async (args: string[], opts: PredictOptions & CheckpointFlagValues & PrecisionFlagValues, cmd: Command) => {
      prepareOutputs([opts.csv !== undefined && { flag: "--csv", path: opts.csv, kind: "file" }], opts.force);
      const images = expandImages(args);
      const csvRows: string[] = ["filename,label"];
      const { model, preprocess, labels, notes } = await loadCliModel(opts.model, opts, { batch: Math.min(opts.batchSize, images.length) });
      const C = model.config.numClasses;
      if (C === 0) throw new VitlensError(`${opts.model}: the model has no classification head; nothing to predict (a backbone: attention, posemb, inspect and serve work on it, and train adds a head)`);
      if (!opts.json) for (const n of notes) process.stderr.write(`vitlens: ${n}\n`);
      if (opts.topK > C && cmd.getOptionValueSource("topK") === "cli") process.stderr.write(`vitlens: note: --top-k ${opts.topK}: the model has ${plural(C, "class")}; showing ${C}\n`);
      const be = precisionBackend(opts);
      const k = Math.min(opts.topK, C);
      const skipped: string[] = [];
      const interrupted = catchInterrupt(); // Ctrl-C: the predictions so far are kept (--csv written), exit 130
      const progress = taskProgress("predict", images.length, "images");
      let seen = 0;
      for (let start = 0; start < images.length && !interrupted(); start += opts.batchSize) {
        const slice = images.slice(start, start + opts.batchSize);
        const loaded = await Promise.all(slice.map((p) => loadImage(p, preprocess).catch((e: unknown) => {
          // one policy for bad files: named on stderr, counted, the rest still predicted (--strict stops)
          if (opts.strict || !(e instanceof VitlensError)) throw e;
          process.stderr.write(`vitlens: skipped ${e.message}\n`);
          skipped.push(e.message);
          // --json: a line for every image given, the skipped ones with why instead of logits
          if (opts.json) progress.print(JSON.stringify({ image: p, skipped: e instanceof UnreadableImageError ? `not a readable image (${e.reason})` : e.message }) + "\n");
          return null;
        })));
        const batch = slice.filter((_, i) => loaded[i] !== null);
        seen += slice.length;
        if (batch.length > 0) {
          const pixels = stackImages(batch, loaded.filter((t) => t !== null));
          const logits = model.forward(pixels, be, { attentions: false }).logits!;
          batch.forEach((image, i) => {
            const row = Array.from(logits.data.subarray(i * C, (i + 1) * C));
            const top = topK(softmax(row), k).map(({ index, score }) => ({ index, label: labels[index], score }));
            csvRows.push(`${basename(image)},${top[0].index}`);
            progress.print(opts.json
              ? JSON.stringify({ image, logits: row, top }) + "\n"
              : `${image}\n${top.map((t) => `  ${(100 * t.score).toFixed(2).padStart(6)}%  ${t.label} (${t.index})\n`).join("")}`);
          });
        }
        progress.update(seen);
      }
      progress.stop();
      const predicted = csvRows.length - 1;
      if (opts.csv && predicted > 0) writeFileAtomic(opts.csv, [csvRows.join("\n") + "\n"]);
      if (stoppedEarly(seen, images.length)) {
        const kept = predicted === 0 ? "nothing to keep" : opts.csv ? `${plural(predicted, "prediction")} written to ${opts.csv}` : `${plural(predicted, "prediction")} printed`;
        process.stderr.write(`vitlens: interrupted after ${seen} of ${plural(images.length, "image")}: ${kept}\n`);
        return;
      }
      if (opts.csv && predicted > 0) process.stderr.write(`vitlens: wrote ${plural(predicted, "prediction")} to ${opts.csv}\n`);
      if (skipped.length && predicted > 0) process.stderr.write(`vitlens: ${plural(predicted, "image")} predicted, ${skipped.length} skipped (not readable)\n`);
      if (predicted === 0) throw new VitlensError(images.length === 1 ? "the image could not be read" : `none of the ${images.length} images could be read`);
    });
}
