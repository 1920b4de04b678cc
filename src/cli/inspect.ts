import { Command } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { resolveModel } from "./resolve-run.js";
import { formatModuleTree, hfModuleTree, parameterTable, timmModuleTree, totalParams } from "../models/module-tree.js";
import { imageSize, MODEL_HELP, checkpointFlags, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";

export function inspectCommand(): Command {
  return withCheckpointFlags(new Command("inspect"))
    .description("print the model's module tree like PyTorch's print(model), with parameter counts")
    .requiredOption("--model <spec>", MODEL_HELP)
    .option("--layout <hf|timm>", "module names to print (default: the checkpoint's own)")
    .option("--image-size <HxW>", "run at this image size", imageSize)
    .action(async (opts: { model: string; layout?: string; imageSize?: [number, number] } & CheckpointFlagValues) => {
      const loaded = loadModel(await resolveModel(opts.model), { imageSize: opts.imageSize, ...checkpointFlags(opts) });
      const c = loaded.model.config;
      const layout = opts.layout ?? (loaded.format === "hf" ? "hf" : "timm");
      if (layout !== "hf" && layout !== "timm") throw new Error(`--layout ${layout}: expected "hf" or "timm"`);
      const tree = layout === "hf" ? hfModuleTree(c) : timmModuleTree(c);
      const out: string[] = [formatModuleTree(tree), ""];
      const rows = parameterTable(tree, 4);
      const width = Math.max(...rows.map(([p, t]) => p.length + t.length + 3));
      out.push("Parameters");
      for (const [path, type, n] of rows) out.push(`  ${`${path} (${type})`.padEnd(width)}  ${n.toLocaleString("en-US").padStart(13)}`);
      const total = totalParams(tree);
      out.push(`  ${"total".padEnd(width)}  ${total.toLocaleString("en-US").padStart(13)}`);
      if (total !== loaded.model.numParameters) throw new Error(`inspect: tree counts ${total} parameters, model holds ${loaded.model.numParameters}`);
      const [gh, gw] = [c.imageSize[0] / c.patchSize, c.imageSize[1] / c.patchSize];
      out.push(
        "",
        `source: ${loaded.source} (${loaded.format})`,
        `input: ${c.numChannels}x${c.imageSize[0]}x${c.imageSize[1]}, patch ${c.patchSize}, grid ${gh}x${gw}, ${1 + gh * gw} tokens, ${c.numHeads} heads of ${c.hiddenSize / c.numHeads}`,
        `classes: ${c.numClasses || "none (feature extractor)"}`,
        ...loaded.notes.map((n) => `note: ${n}`),
      );
      process.stdout.write(out.join("\n") + "\n");
    });
}
