import { basename } from "node:path";
import { Command } from "commander";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { modelPositionSimilarity, NO_POSITION_EMBEDDING } from "../explain/posemb.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { gridSize, posEmbedPrefix } from "../models/vit-config.js";
import { positionSimilarityFigure } from "../render/posemb-figure.js";
import { MODEL_HELP, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";
import { prepareOutputs } from "./outputs.js";
import { loadCliModel } from "./load-model.js";

export function posembCommand(): Command {
  return withCheckpointFlags(new Command("posemb"), "the model", "resample the embeddings to this size first")
    .description("cosine similarity of the learned position embeddings, drawn as the ViT paper's Figure 7")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--out <file.png>", "the figure")
    .option("--raw <file.safetensors>", "also write the (P, P) matrix as tensor `similarity`")
    .option("--force", "overwrite existing files")
    .action(async (o: { model: string; out: string; raw?: string; imageSize?: [number, number]; force?: boolean } & CheckpointFlagValues) => {
      prepareOutputs([{ flag: "--out", path: o.out, kind: "file" }, o.raw !== undefined && { flag: "--raw", path: o.raw, kind: "file" }], o.force);
      const { model } = await loadCliModel(o.model, o);
      const sim = modelPositionSimilarity(model.params, posEmbedPrefix(model.config));
      if (!sim) throw new VitlensError(`${o.model}: ${NO_POSITION_EMBEDDING}`);
      const [rows, cols] = gridSize(model.config);
      const png = await positionSimilarityFigure(sim, rows, cols, `Position embedding similarity, ${rows}x${cols} patches (${basename(o.model)})`);
      writeFileAtomic(o.out, [png]);
      if (o.raw) writeSafetensors(o.raw, new Map([["similarity", sim]]));
      process.stderr.write(`vitlens: wrote ${o.out}${o.raw ? ` and ${o.raw}` : ""}\n`);
    });
}
