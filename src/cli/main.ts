import { Command, CommanderError } from "commander";
import { VitlensError } from "../errors.js";
import { setExifRotate } from "../data/raw-image.js";
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

export async function main(argv: string[]): Promise<number> {
  const program = new Command("vitlens")
    .description("Vision Transformers in TypeScript: load, inspect, fine-tune, evaluate, predict, caption, benchmark")
    .option("--verbose", "print stack traces on errors")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addCommand(inspectCommand());
  program.addCommand(predictCommand());
  program.addCommand(trainCommand());
  program.addCommand(evalCommand());
  program.addCommand(posembCommand());
  program.addCommand(attentionCommand());
  program.addCommand(reportCommand());
  program.addCommand(trainCaptionerCommand());
  program.addCommand(captionCommand());
  program.addCommand(evalCaptionerCommand());
  program.addCommand(convertCommand());
  program.addCommand(dataCommand());
  program.addCommand(pointingCommand());
  program.addCommand(benchCommand());
  program.addCommand(tensorsCommand());
  program.addCommand(serveCommand());
  for (const cmd of program.commands) cmd.exitOverride();
  // --no-exif-rotate (options.ts withExifFlag) holds for the whole process
  program.hook("preAction", (_root, action) => setExifRotate(action.opts<{ exifRotate?: boolean }>().exifRotate !== false));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander already printed usage or help
    const verbose = argv.includes("--verbose");
    const message = e instanceof VitlensError || !verbose ? (e as Error).message : ((e as Error).stack ?? String(e));
    process.stderr.write(`vitlens: error: ${message}\n`);
    if (!(e instanceof VitlensError) && !verbose) process.stderr.write("vitlens: (run with --verbose for the stack trace)\n");
    return 1;
  }
}
