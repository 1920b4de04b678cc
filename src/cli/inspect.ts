import { Command } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { resolveModel } from "./resolve-run.js";
import { VitlensError } from "../errors.js";
import { formatModuleTree, hfModuleTree, LUKEMELAS_DROPOUT_RATE, lukemelasModuleTree, parameterTable, timmModuleTree, totalParams } from "../models/module-tree.js";
import { imageSize, MODEL_HELP, checkpointFlags, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";

export function inspectCommand(): Command {
  return withCheckpointFlags(new Command("inspect"))
    .description("print the model's module tree like PyTorch's print(model), with parameter counts")
    .requiredOption("--model <spec>", MODEL_HELP)
    .option("--layout <hf|timm|lukemelas>", "module names to print: HF transformers, timm or PyTorch-Pretrained-ViT (default: the checkpoint's own)")
    .option("--expand", "list every block, (0) ... (11), as PyTorch before 2.0 prints (default: folded as PyTorch 2 prints a ModuleList)")
    .option("--image-size <HxW>", "run at this image size", imageSize)
    .action(async (opts: { model: string; layout?: string; expand?: boolean; imageSize?: [number, number] } & CheckpointFlagValues) => {
      const loaded = loadModel(await resolveModel(opts.model), { imageSize: opts.imageSize, ...checkpointFlags(opts) });
      const c = loaded.model.config;
      const layout = opts.layout ?? (loaded.format === "hf" || loaded.format === "lukemelas" ? loaded.format : "timm");
      const trees = { hf: hfModuleTree, timm: timmModuleTree, lukemelas: lukemelasModuleTree };
      if (!(layout in trees)) throw new VitlensError(`--layout ${layout}: expected hf, timm or lukemelas`);
      const tree = trees[layout as keyof typeof trees](c);
      const out: string[] = [formatModuleTree(tree, { expand: opts.expand }), ""];
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
        // A .pth records no dropout: the tree shows what the library builds, not what vitlens runs.
        ...(layout === "lukemelas" ? [`note: Dropout p=${LUKEMELAS_DROPOUT_RATE} is PyTorch-Pretrained-ViT's dropout_rate; vitlens runs this model with dropout ${c.hiddenDropout}`] : []),
      );
      process.stdout.write(out.join("\n") + "\n");
    });
}
