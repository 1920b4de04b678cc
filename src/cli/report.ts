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
import { prepareOutputs } from "./outputs.js";
import { lazyProgress } from "./progress.js";
import { writeOut } from "./stdio.js";

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
      if (!existsSync(join(run, "run.json"))) throw new VitlensError(`${run}: not a vitlens run (no run.json)`);
      prepareOutputs([{ flag: o.out ? "--out" : undefined, path: out, kind: "file" }], o.force);
      const captioner = readJson(join(run, "run.json")).kind === "captioner";
      const progress = lazyProgress("report", captioner ? "captions" : "validation images");
      const onProgress = (done: number, total: number) => progress.update(done, total);
      if (captioner) {
        const data = await collectCaptionerReport(run, precisionBackend(o), o.gallery, onProgress);
        progress.stop();
        writeFileAtomic(out, [captionerReportHtml(data)]);
      } else {
        const data = await collectReport(run, precisionBackend(o), o.gallery, o.captions ?? null, checkpointFlags(o), onProgress);
        progress.stop();
        writeFileAtomic(out, [await reportHtml(data)]);
      }
      writeOut(`${out}\n`);
    });
}
