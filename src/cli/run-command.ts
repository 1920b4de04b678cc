import type { Command } from "commander";
import type { PrecisionRequest } from "../backend/precision.js";
import { VitlensError } from "../errors.js";
import type { ResumeRequest, TrainReporter } from "../train/run-loop.js";
import { catchInterrupt, finishedAnyway } from "./interrupt.js";
import { progressReporter } from "./progress.js";

/** What `--resume RUN` may be given with: the run keeps every other option it started with. */
const RESUME_FLAGS = new Set(["--resume", "--precision", "--epochs"]);

/**
 * `--resume RUN` and what else was typed: --epochs extends the run (openRun says so), --precision
 * changes the products' precision; any other flag is refused by name, never silently ignored.
 */
export function resumeRequest(cmd: Command, resume: string, precision: PrecisionRequest | undefined, epochs: number | undefined): ResumeRequest {
  const given = cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === "cli").map((o) => o.long ?? o.flags);
  const refused = given.filter((flag) => !RESUME_FLAGS.has(flag));
  if (refused.length) {
    throw new VitlensError(
      `${refused.join(", ")}: --resume ${resume} continues the run with the options it started with (its run.json); ` +
        `it takes only --epochs N (to train it further) and --precision. Start a new run with --out to change ${refused.length === 1 ? "it" : "them"}`,
    );
  }
  return { resume, precision, epochs };
}

/**
 * A trainer's run with Ctrl-C claimed: the first one saves a resumable state after the current
 * step (the process then exits 130), a second one quits at once.
 */
export async function runInterruptibly(run: (interrupted: () => boolean, reporter: TrainReporter) => Promise<{ interrupted: boolean }>): Promise<void> {
  const interrupted = catchInterrupt("saving a resumable state after this step");
  const r = await run(interrupted, progressReporter());
  if (!r.interrupted) finishedAnyway(); // Ctrl-C came after the last step: the run is complete
}
