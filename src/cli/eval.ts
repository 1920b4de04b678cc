import { Command, Option } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { alignToModel, emptyClasses, preview } from "../data/classes.js";
import { openData } from "../data/datasets.js";
import { VitlensError } from "../errors.js";
import { evaluate } from "../train/evaluate.js";
import {
  positiveInt, MODEL_HELP, checkpointFlags, dataFlags, precisionBackend, withCheckpointFlags, withDataFlags, withExifFlag, withPrecisionFlag,
  type CheckpointFlagValues, type DataFlagValues, type PrecisionFlagValues,
} from "./options.js";
import { resolveData, resolveModel } from "./resolve-run.js";

interface EvalFlags extends CheckpointFlagValues, PrecisionFlagValues, DataFlagValues {
  model: string; data: string; batchSize: number; json?: boolean; strict?: boolean; unknownClasses: "error" | "skip";
}

export function evalCommand(): Command {
  return withExifFlag(withDataFlags(withPrecisionFlag(withCheckpointFlags(new Command("eval"))), "the split to score, for data with splits (default: test, else validation)"))
    .description("accuracy, top-5, per-class accuracy and confusion matrix on a labelled dataset (classes matched to the model's by name)")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--data <path>", "labelled data: class folders, <label>_*.png, CSV, IDX, a Hugging Face dataset folder or .parquet")
    .option("--batch-size <n>", "images per forward pass", positiveInt, 64)
    .addOption(new Option("--unknown-classes <what>", "data classes the model does not have: stop with an error, or skip their images").choices(["error", "skip"]).default("error"))
    .option("--strict", "fail on a corrupt image instead of skipping it")
    .option("--json", "print one JSON object")
    .action(async (opts: EvalFlags) => {
      const { model, preprocess, labels, source } = loadModel(await resolveModel(opts.model), checkpointFlags(opts));
      if (model.config.numClasses === 0) throw new VitlensError(`${opts.model}: the model has no classification head; nothing to evaluate (a backbone: train adds a head)`);
      const data = await openData(await resolveData(opts.data), { ...dataFlags(opts), preferSplits: ["test", "validation", "train"] });
      const empty = emptyClasses(data);
      if (empty.length) process.stderr.write(`vitlens: warning: --data ${opts.data}: class(es) with no images: ${preview(empty, 5)}\n`);
      const { ds, unmatched, dropped } = alignToModel(data, labels, `--data ${opts.data}`);
      if (unmatched.length) {
        const unnamed = labels.every((l) => /^LABEL_\d+$/.test(l)) ? " — it names no classes: --labels FILE names them" : "";
        const what = `class(es) ${preview(unmatched, 5)} of --data ${opts.data} match none of the model's ${labels.length} classes (${preview(labels)}${unnamed})`;
        if (opts.unknownClasses !== "skip") throw new VitlensError(`${what}; rename them, or pass --unknown-classes skip to leave their ${dropped} image(s) out`);
        process.stderr.write(`vitlens: warning: ${what}: left out ${dropped} image(s)\n`);
      }
      if (ds.size === 0) throw new VitlensError(`--data ${opts.data}: none of its images is of a class the model has (${preview(labels)}); nothing to evaluate${labels.every((l) => /^LABEL_\d+$/.test(l)) ? " (the model names no classes: --labels FILE names them)" : ""}`);
      const onSkip = (message: string) => process.stderr.write(`vitlens: skipped ${message}\n`);
      const r = await evaluate(model, ds, preprocess, precisionBackend(opts), opts.batchSize, undefined, opts.strict ?? false, onSkip);
      if (r.samples === 0) throw new VitlensError(`--data ${opts.data}: none of its ${ds.size} image(s) could be read`);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ model: source, data: data.description, ...r, unknown_classes: unmatched, left_out: dropped }) + "\n");
        return;
      }
      // per class and the confusion matrix: the classes the data holds (a 1000-class head shows only those)
      const present = r.perClass.map((c, i) => ({ ...c, i })).filter((c) => c.count > 0);
      const width = Math.max(5, ...present.map((c) => c.label.length));
      const lines = [
        `${source} on ${data.description}`,
        `accuracy ${(100 * r.accuracy).toFixed(2)}%  top-5 ${(100 * r.top5).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${r.samples} images${r.skipped ? `, ${r.skipped} skipped` : ""}${dropped ? `, ${dropped} left out` : ""})`,
        "",
        "per class:",
        ...present.map((c) => `  ${c.label.padEnd(width)} ${(100 * c.accuracy).toFixed(2).padStart(6)}%  (${c.count})`),
      ];
      if (present.length <= 20) {
        const ids = present.map((c) => c.i);
        const other = (row: number[]) => row.reduce((s, v, j) => (ids.includes(j) ? s : s + v), 0);
        const hasOther = present.some((c) => other(r.confusion[c.i]) > 0);
        lines.push("", "confusion matrix (rows: true class, columns: predicted, by index):",
          `  ${"".padEnd(width)} ${ids.map((j) => String(j).padStart(5)).join("")}${hasOther ? "  other" : ""}`,
          ...present.map((c) => `  ${c.label.padEnd(width)} ${ids.map((j) => String(r.confusion[c.i][j]).padStart(5)).join("")}${hasOther ? String(other(r.confusion[c.i])).padStart(7) : ""}`),
          `  (${present.map((c) => `${c.i} ${c.label}`).join(", ")})`);
      }
      process.stdout.write(lines.join("\n") + "\n");
    });
}
