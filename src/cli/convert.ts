import { MODEL_HELP, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";
import { Command } from "commander";
import { saveHfModel } from "../checkpoint/save-hf.js";
import { saveTimmModel } from "../checkpoint/save-timm.js";
import { VitlensError } from "../errors.js";
import { prepareOutputs } from "./outputs.js";
import { join } from "node:path";
import { loadCliModel } from "./load-model.js";

export function convertCommand(): Command {
  return withCheckpointFlags(new Command("convert"))
    .description("write a checkpoint (HF, timm, .pth, Google .npz, ...) in the HF or timm layout")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--to <hf|timm>", "target layout")
    .requiredOption("--out <dir>", "output folder")
    .option("--force", "overwrite an existing model in --out")
    .action(async (o: { model: string; to: string; out: string; force?: boolean } & CheckpointFlagValues) => {
      if (o.to !== "hf" && o.to !== "timm") throw new VitlensError(`--to ${o.to}: expected hf or timm`);
      prepareOutputs([{ flag: "--out", path: o.out, kind: "folder" }, { path: join(o.out, "model.safetensors"), kind: "file" }], o.force);
      const { model, preprocess, labels, format, notes } = await loadCliModel(o.model, o);
      const note = o.to === "hf" ? (saveHfModel(o.out, model, preprocess, labels), null) : saveTimmModel(o.out, model, preprocess, labels);
      for (const n of notes) process.stderr.write(`vitlens: ${n}\n`);
      if (note) process.stderr.write(`vitlens: note: ${note}\n`);
      if (o.to === "timm" && model.config.layerNormEps !== 1e-6 && !note) {
        process.stderr.write(`vitlens: note: timm's ViT uses LayerNorm eps 1e-6; this model uses ${model.config.layerNormEps} (kept in config.json's vitlens entry; timm will differ slightly)\n`);
      }
      process.stderr.write(`vitlens: converted ${format} -> ${o.to}: ${o.out} (${model.numParameters.toLocaleString("en-US")} parameters)\n`);
    });
}
