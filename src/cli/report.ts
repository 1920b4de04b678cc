import { join } from "node:path";
import { Command } from "commander";
import { getBackend } from "../backend/index.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { collectReport } from "../report/collect.js";
import { reportHtml } from "../render/report-html.js";
import { positiveInt } from "./options.js";
import { checkOverwrite } from "./outputs.js";

export function reportCommand(): Command {
  return new Command("report")
    .description("one self-contained HTML report of a training run")
    .argument("<run>", "a run folder written by `vitlens train`")
    .option("--out <file.html>", "where to write it (default: RUN/report.html)")
    .option("--gallery <n>", "correct and wrong validation images to show, each", positiveInt, 6)
    .option("--force", "overwrite an existing report")
    .action(async (run: string, o: { out?: string; gallery: number; force?: boolean }) => {
      const out = o.out ?? join(run, "report.html");
      checkOverwrite(out, o.force);
      const data = await collectReport(run, getBackend(), o.gallery);
      writeFileAtomic(out, [await reportHtml(data)]);
      process.stdout.write(`${out}\n`);
    });
}
