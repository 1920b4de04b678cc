import { basename, dirname } from "node:path";
import { Command } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { modelPositionSimilarity, NO_POSITION_EMBEDDING } from "../explain/posemb.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { gridSize, posEmbedPrefix } from "../models/vit-config.js";
import { positionSimilarityFigure } from "../render/posemb-figure.js";
import { MODEL_HELP, checkpointFlags, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";
import { checkOverwrite, outputFolder } from "./outputs.js";
import { resolveModel } from "./resolve-run.js";

export function posembCommand(): Command {
  return withCheckpointFlags(new Command("posemb"), "the model", "resample the embeddings to this size first")
    .description("cosine similarity of the learned position embeddings, drawn as the ViT paper's Figure 7")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--out <file.png>", "the figure")
    .option("--raw <file.safetensors>", "also write the (P, P) matrix as tensor `similarity`")
    .option("--force", "overwrite existing files")
    .action(async (o: { model: string; out: string; raw?: string; imageSize?: [number, number]; force?: boolean } & CheckpointFlagValues) => {
      const { model } = loadModel(await resolveModel(o.model), checkpointFlags(o));
      checkOverwrite(o.out, o.force);
      if (o.raw) checkOverwrite(o.raw, o.force);
      outputFolder(dirname(o.out), "--out");
      const sim = modelPositionSimilarity(model.params, posEmbedPrefix(model.config));
      if (!sim) throw new VitlensError(`${o.model}: ${NO_POSITION_EMBEDDING}`);
      const [rows, cols] = gridSize(model.config);
      const png = await positionSimilarityFigure(sim, rows, cols, `Position embedding similarity, ${rows}x${cols} patches (${basename(o.model)})`);
      writeFileAtomic(o.out, [png]);
      if (o.raw) writeSafetensors(o.raw, new Map([["similarity", sim]]));
      process.stderr.write(`vitlens: wrote ${o.out}${o.raw ? ` and ${o.raw}` : ""}\n`);
    });
}
