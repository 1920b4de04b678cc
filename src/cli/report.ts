import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../io/read-json.js";
import { VitlensError } from "../errors.js";
import { collectCaptionerReport } from "../report/collect-captioner.js";
import { captionerReportHtml } from "../render/captioner-report-html.js";
import { Command } from "commander";
import { writeFileAtomic } from "../io/atomic-write.js";
import { collectReport } from "../report/collect.js";
import { reportHtml } from "../render/report-html.js";
import { checkpointFlags, positiveInt, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { checkOverwrite } from "./outputs.js";

export function reportCommand(): Command {
  return withPrecisionFlag(withCheckpointFlags(new Command("report"), "the run's model"))
    .description("one self-contained HTML report of a training run (vitlens train or train-captioner)")
    .argument("<run>", "a run folder written by `vitlens train` or `vitlens train-captioner`")
    .option("--out <file.html>", "where to write it (default: RUN/report.html)")
    .option("--gallery <n>", "gallery size: correct and wrong validation images each (a captioner run: held-out images captioned)", positiveInt, 6)
    .option("--captions <dir>", "also show captions and per-word strips from `vitlens caption --out DIR`")
    .option("--force", "overwrite an existing report")
    .action(async (run: string, o: { out?: string; gallery: number; captions?: string; force?: boolean } & CheckpointFlagValues & PrecisionFlagValues) => {
      const out = o.out ?? join(run, "report.html");
      checkOverwrite(out, o.force);
      if (!existsSync(join(run, "run.json"))) throw new VitlensError(`${run}: not a vitlens run (no run.json)`);
      if (readJson(join(run, "run.json")).kind === "captioner") {
        writeFileAtomic(out, [captionerReportHtml(await collectCaptionerReport(run, precisionBackend(o), o.gallery))]);
      } else {
        writeFileAtomic(out, [await reportHtml(await collectReport(run, precisionBackend(o), o.gallery, o.captions ?? null, checkpointFlags(o)))]);
      }
      process.stdout.write(`${out}\n`);
    });
}
