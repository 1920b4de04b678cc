import { Command, CommanderError } from "commander";
import { VitlensError } from "../errors.js";
import { checkThreadsVariable } from "../backend/index.js";
import { setExifRotate } from "../data/raw-image.js";
import { readJson } from "../io/read-json.js";
import { packageRoot } from "../package-root.js";
import { join } from "node:path";
import { attentionCommand } from "./attention.js";
import { benchCommand } from "./bench.js";
import { inspectCommand } from "./inspect.js";
import { convertCommand } from "./convert.js";
import { dataCommand } from "./data.js";
import { evalCommand } from "./eval.js";
import { pointingCommand } from "./pointing.js";
import { posembCommand } from "./posemb.js";
import { predictCommand } from "./predict.js";
import { reportCommand } from "./report.js";
import { serveCommand } from "./serve.js";
import { tensorsCommand } from "./tensors.js";
import { trainCommand } from "./train.js";
import { trainCaptionerCommand } from "./train-captioner.js";
import { captionCommand, evalCaptionerCommand } from "./caption.js";
import { checkRequiredOptions, tidyHelp } from "./help.js";
import { watchInterrupt, wasInterrupted } from "./interrupt.js";
import { setQuiet } from "./progress.js";
import { watchPipes } from "./stdio.js";

/** Every command, as `vitlens --help` lists them. */
export function vitlensProgram(): Command {
  const program = new Command("vitlens")
    .description("Vision Transformers in TypeScript: load, inspect, fine-tune, evaluate, predict, caption, benchmark")
    .version(String(readJson(join(packageRoot(), "package.json")).version), "-V, --version", "print vitlens' version")
    .option("--verbose", "print stack traces on errors")
    .option("--quiet", "no progress bars or progress lines (warnings and errors still print)");
  for (const cmd of [
    inspectCommand(), predictCommand(), trainCommand(), evalCommand(), posembCommand(), attentionCommand(), reportCommand(),
    trainCaptionerCommand(), captionCommand(), evalCaptionerCommand(), convertCommand(), dataCommand(), pointingCommand(),
    benchCommand(), tensorsCommand(), serveCommand(),
  ]) program.addCommand(cmd);
  tidyHelp(program);
  return program;
}

/**
 * Runs the CLI; the exit status: 0 done (also when unreadable images were skipped, or stdout was
 * closed by its reader), 1 a user error or nothing readable, 130 interrupted (what was done is saved).
 */
export async function main(argv: string[]): Promise<number> {
  watchPipes();
  watchInterrupt();
  const program = vitlensProgram().configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.hook("preAction", (_root, action) => {
    checkRequiredOptions(action); // after commander's unknown-option check, so `--modle` gets "did you mean --model?"
    checkThreadsVariable(); // before any work, whichever engine the command ends up on
    setQuiet(program.opts<{ quiet?: boolean }>().quiet === true);
    // --no-exif-rotate (options.ts withExifFlag) holds for the whole process
    setExifRotate(action.opts<{ exifRotate?: boolean }>().exifRotate !== false);
  });
  try {
    await program.parseAsync(argv);
    return wasInterrupted() ? 130 : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander already printed usage, help or the version
    const verbose = argv.includes("--verbose");
    const message = e instanceof VitlensError || !verbose ? (e as Error).message : ((e as Error).stack ?? String(e));
    process.stderr.write(`vitlens: error: ${message}\n`);
    if (!(e instanceof VitlensError) && !verbose) process.stderr.write("vitlens: (run with --verbose for the stack trace)\n");
    return 1;
  }
}
