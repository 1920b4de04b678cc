import { Command, Option } from "commander";
import { alignToModel, emptyClasses, matchClassNames, preview } from "../data/classes.js";
import type { Dataset } from "../data/datasets.js";
import { openData } from "../data/datasets.js";
import { namedSplitWish } from "../data/hf-dataset.js";
import { VitlensError } from "../errors.js";
import { evaluate } from "../train/evaluate.js";
import {
  positiveInt, MODEL_HELP, dataFlags, precisionBackend, withCheckpointFlags, withDataFlags, withExifFlag, withPrecisionFlag,
  type CheckpointFlagValues, type DataFlagValues, type PrecisionFlagValues,
} from "./options.js";
import { resolveData } from "./resolve-run.js";
import { loadCliModel } from "./load-model.js";
import { taskProgress } from "./progress.js";
import { formatTable, percent } from "./table.js";
import { writeOut } from "./stdio.js";
import { plural } from "../words.js";

interface EvalFlags extends CheckpointFlagValues, PrecisionFlagValues, DataFlagValues {
  model: string; data: string; batchSize: number; json?: boolean; strict?: boolean; unknownClasses: "error" | "skip";
}

/** The split eval scores when --split is not given: the first of these the data has. */
const EVAL_SPLITS = ["test", "validation", "train"];

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
      const { model, preprocess, labels, source } = await loadCliModel(opts.model, opts, { batch: opts.batchSize });
      if (model.config.numClasses === 0) throw new VitlensError(`${opts.model}: the model has no classification head; nothing to evaluate (a backbone: train adds a head)`);
      const data = await openData(await resolveData(opts.data, { config: opts.config, splits: [opts.split ? namedSplitWish(opts.split) : { prefer: EVAL_SPLITS, otherwise: "first-split" }] }), { ...dataFlags(opts), preferSplits: EVAL_SPLITS });
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
      const progress = taskProgress("eval", ds.size, "images");
      const r = await evaluate(model, ds, preprocess, precisionBackend(opts), opts.batchSize, (done) => progress.update(done), opts.strict ?? false, onSkip);
      progress.stop();
      if (r.samples === 0) throw new VitlensError(`--data ${opts.data}: ${ds.size === 1 ? "its image could not be read" : `none of its ${ds.size} images could be read`}`);
      if (opts.json) {
        writeOut(JSON.stringify({ model: source, data: data.description, ...r, unknown_classes: unmatched, left_out: dropped }) + "\n");
        return;
      }
      // per class and the confusion matrix: the classes the data holds (a 1000-class head shows only those), – for one with no image scored
      const held = heldClasses(data, labels);
      const C = labels.length;
      const lines = [
        `${source} on ${data.description}`,
        `accuracy ${percent(r.accuracy)}${C > 5 ? `  top-5 ${percent(r.top5)}` : ""}  loss ${r.loss.toFixed(4)}  (${plural(r.samples, "image")}${r.skipped ? `, ${r.skipped} skipped` : ""}${dropped ? `, ${dropped} left out` : ""})`,
        "",
        "per class (accuracy, images):",
        ...formatTable(held.map((i) => [labels[i], percent(r.perClass[i].accuracy), String(r.perClass[i].count)]), ["left", "right", "right"]),
      ];
      if (held.length <= 20) lines.push("", ...confusionTable(r.confusion, held, labels));
      writeOut(lines.join("\n") + "\n");
    });
}

/** The model's indices of the classes the data names (in the model's order), empty ones included. */
function heldClasses(data: Dataset, labels: string[]): number[] {
  const ids = data.labelKind === "indices"
    ? data.classNames.map((_, i) => i).filter((i) => i < labels.length)
    : matchClassNames(data.classNames, labels).toModel.filter((m) => m >= 0);
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Rows: the true class; columns: the predicted one, both labelled by name; predictions outside the held classes in "other". */
function confusionTable(confusion: number[][], held: number[], labels: string[]): string[] {
  const short = (s: string) => ([...s].length > 12 ? `${[...s].slice(0, 11).join("")}…` : s);
  const other = (row: number[]) => row.reduce((sum, v, j) => (held.includes(j) ? sum : sum + v), 0);
  const hasOther = held.some((i) => other(confusion[i]) > 0);
  const header = ["true \\ predicted", ...held.map((j) => short(labels[j])), ...(hasOther ? ["other"] : [])];
  const rows = held.map((i) => [labels[i], ...held.map((j) => String(confusion[i][j])), ...(hasOther ? [String(other(confusion[i]))] : [])]);
  return ["confusion matrix (rows: true class, columns: predicted class):", ...formatTable([header, ...rows], ["left", ...header.slice(1).map(() => "right" as const)])];
}
