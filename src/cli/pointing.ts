import { withExifFlag, MODEL_HELP, positiveInt, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { Command } from "commander";
import { readJson } from "../io/read-json.js";
import { imagePixels } from "../data/preprocess.js";
import { openDataset } from "../data/datasets.js";
import { VitlensError } from "../errors.js";
import { attribution, clsAttention, rollout } from "../explain/attention-maps.js";
import { pointingHit, randomPointingRate } from "../explain/pointing.js";
import { gridSize, tokenLayout } from "../models/vit-config.js";
import { vitBackward, vitForward } from "../models/vit-pass.js";
import { zeroGrads } from "../models/vit-train.js";
import { loadCliModel } from "./load-model.js";
import { taskProgress } from "./progress.js";
import { writeOut } from "./stdio.js";
import { plural } from "../words.js";
import { formatTable, percent } from "./table.js";

type Box = [number, number, number, number];

export function pointingCommand(): Command {
  return withExifFlag(withPrecisionFlag(withCheckpointFlags(new Command("pointing"))))
    .description("pointing-game accuracy of each attention method on images with known boxes (from `vitlens data objects`)")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--data <dir>", "a folder with <label>_<id>.png files and boxes.json")
    .option("--limit <n>", "use the first n images", positiveInt)
    .option("--json", "print one JSON object")
    .action(async (o: { model: string; data: string; limit?: number; json?: boolean } & CheckpointFlagValues & PrecisionFlagValues) => {
      const boxesPath = join(o.data, "boxes.json");
      if (!existsSync(boxesPath)) throw new VitlensError(`--data ${o.data}: no boxes.json (make one with \`vitlens data objects\`)`);
      const { canvas, boxes } = readJson(boxesPath) as { canvas: [number, number]; boxes: Record<string, Box> };
      const { model, preprocess } = await loadCliModel(o.model, o);
      if (model.config.numClasses === 0) throw new VitlensError(`${o.model}: no classification head (attribution needs one)`);
      const ds = openDataset(o.data);
      const be = precisionBackend(o);
      const [rows, cols] = gridSize(model.config);
      const [H, W] = preprocess.size;
      const pixels = new Float32Array(3 * H * W);
      const hits = { cls: 0, rollout: 0, attribution: 0 };
      let baseline = 0;
      let correct = 0;
      const n = Math.min(o.limit ?? ds.size, ds.size);
      const progress = taskProgress("pointing", n, "images");
      for (let i = 0; i < n; i++) {
        const box = boxes[basename(ds.name(i))];
        if (!box) throw new VitlensError(`${ds.name(i)}: no box in ${boxesPath}`);
        await imagePixels(await ds.raw(i), preprocess, {}, pixels);
        const fwd = vitForward(model, { data: pixels, shape: [1, 3, H, W] }, be, { keep: true });
        const logits = Array.from(fwd.logits!.data);
        if (logits.indexOf(Math.max(...logits)) === ds.labels[i]) correct++;
        const dlogits = new Float32Array(logits.length);
        dlogits[ds.labels[i]] = 1; // attribution for the true class, as the pointing game asks
        const attentionGrads = vitBackward(model, fwd, dlogits, zeroGrads(model.params), be);
        const maps = {
          cls: clsAttention(fwd.attentions[model.config.numLayers - 1], 0, "mean", tokenLayout(model.config)),
          rollout: rollout(fwd.attentions, 0, "mean", 0, tokenLayout(model.config)),
          attribution: attribution(fwd.attentions, attentionGrads, 0, tokenLayout(model.config)),
        };
        for (const k of Object.keys(hits) as Array<keyof typeof hits>) if (pointingHit(maps[k], rows, cols, canvas, box)) hits[k]++;
        baseline += randomPointingRate(box, canvas);
        progress.update(i + 1);
      }
      progress.stop();
      const result = {
        images: n, accuracy: correct / n, random_baseline: baseline / n,
        pointing: { cls_last_layer: hits.cls / n, rollout: hits.rollout / n, attribution: hits.attribution / n },
      };
      if (o.json) {
        writeOut(JSON.stringify(result) + "\n");
        return;
      }
      const p = (x: number) => percent(x, 1);
      writeOut([
        `${plural(n, "image")}, classification accuracy ${p(result.accuracy)}`,
        "pointing game (map maximum inside the item's box):",
        ...formatTable([
          ["CLS attention, last layer, mean of heads", p(result.pointing.cls_last_layer)],
          ["attention rollout (mean of heads)", p(result.pointing.rollout)],
          ["gradient-weighted attribution (true class)", p(result.pointing.attribution)],
          ["random point (box area / image area)", p(result.random_baseline)],
        ], ["left", "right"]),
      ].join("\n") + "\n");
    });
}
