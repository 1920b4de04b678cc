import { Command } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { openDataset } from "../data/datasets.js";
import { VitlensError } from "../errors.js";
import { evaluate } from "../train/evaluate.js";
import { positiveInt, MODEL_HELP, checkpointFlags, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { resolveModel } from "./resolve-run.js";

export function evalCommand(): Command {
  return withPrecisionFlag(withCheckpointFlags(new Command("eval")))
    .description("accuracy, top-5, per-class accuracy and confusion matrix on a labelled dataset")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--data <path>", "labelled data (class folders, <label>_*.png, CSV, IDX)")
    .option("--batch-size <n>", "images per forward pass", positiveInt, 64)
    .option("--strict", "fail on a corrupt image instead of skipping it")
    .option("--json", "print one JSON object")
    .action(async (opts: { model: string; data: string; batchSize: number; json?: boolean; strict?: boolean } & CheckpointFlagValues & PrecisionFlagValues) => {
      const { model, preprocess, labels, source } = loadModel(await resolveModel(opts.model), checkpointFlags(opts));
      const ds = openDataset(opts.data);
      if (Math.max(...ds.labels) >= model.config.numClasses) {
        throw new VitlensError(`--data ${opts.data}: labels go up to ${Math.max(...ds.labels)} but the model has ${model.config.numClasses} classes`);
      }
      ds.classNames = labels;
      const r = await evaluate(model, ds, preprocess, precisionBackend(opts), opts.batchSize, undefined, opts.strict ?? false);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ model: source, data: ds.description, ...r }) + "\n");
        return;
      }
      const lines = [
        `${source} on ${ds.description}`,
        `accuracy ${(100 * r.accuracy).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${r.samples} images${r.skipped ? `, ${r.skipped} skipped` : ""})`,
        "",
        "per class:",
        ...r.perClass.map((c) => `  ${c.label.padEnd(14)} ${(100 * c.accuracy).toFixed(2).padStart(6)}%  (${c.count})`),
        "",
        "confusion matrix (rows: true, columns: predicted):",
        ...r.confusion.map((row, i) => `  ${String(i).padStart(3)} ${row.map((v) => String(v).padStart(5)).join("")}`),
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
