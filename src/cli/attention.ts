import { withExifFlag, MODEL_HELP, checkpointFlags, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { basename, extname, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { loadModel } from "../checkpoint/load.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { loadBatch } from "../data/preprocess.js";
import { VitlensError } from "../errors.js";
import { attribution, clsAttention, rollout, type HeadFusion } from "../explain/attention-maps.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { gridSize, prefixTokens } from "../models/vit-config.js";
import { softmax } from "../models/scores.js";
import { backward, forwardTrain, zeroGrads } from "../models/vit-train.js";
import { Rng } from "../random.js";
import { blendHeat, displayImage, tileGrid, type Tile } from "../render/overlay.js";
import type { Tensor } from "../tensor.js";
import { checkOverwrite, outputFolder } from "./outputs.js";
import { resolveModel } from "./resolve-run.js";

interface Options {
  model: string; out: string; layer: string; head: string; method: string; discardRatio: number;
  class?: number; raw?: boolean; force?: boolean; columns: number;
}

const ratio = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError("expected a value in [0, 1)");
  return n;
};

/** The image as the model sees it (resized to its input), at least 224 px wide for display. */
export function attentionCommand(): Command {
  return withExifFlag(withPrecisionFlag(withCheckpointFlags(new Command("attention"))))
    .description("attention maps over images: CLS attention per layer/head, rollout, or gradient-weighted attribution")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--out <dir>", "folder for the PNGs (and --raw safetensors)")
    .option("--method <cls|rollout|attribution>", "what to draw", "cls")
    .option("--layer <L|all>", "layer for --method cls (default: the last)", "last")
    .option("--head <H|mean|max|min|all>", "one head, a fusion over heads, or every head", "mean")
    .option("--discard-ratio <r>", "rollout: zero this share of the weakest attentions per layer", ratio, 0)
    .option("--class <c>", "attribution: target class index (default: the predicted one)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a class index");
      return n;
    })
    .option("--columns <n>", "tiles per row in grids", (v) => Number(v), 7)
    .option("--raw", "also write the maps and every layer's attention (heads, N, N) as safetensors")
    .option("--force", "overwrite existing files")
    .argument("<images...>", "image files")
    .action(async (images: string[], o: Options & CheckpointFlagValues & PrecisionFlagValues) => {
      if (!["cls", "rollout", "attribution"].includes(o.method)) throw new VitlensError(`--method ${o.method}: expected cls, rollout or attribution`);
      const { model, preprocess, labels } = loadModel(await resolveModel(o.model), checkpointFlags(o));
      const c = model.config;
      if (o.method === "attribution" && c.numClasses === 0) throw new VitlensError(`--method attribution: ${o.model} has no classification head to attribute`);
      if (o.class !== undefined && o.class >= c.numClasses) throw new VitlensError(`--class ${o.class} is out of range: the model has ${c.numClasses} classes`);
      const layer = o.layer === "last" ? c.numLayers - 1 : o.layer === "all" ? "all" : Number(o.layer);
      if (layer !== "all" && !(Number.isInteger(layer) && layer >= 0 && layer < c.numLayers)) {
        throw new VitlensError(`--layer ${o.layer} is out of range: the model has ${c.numLayers} layers (0..${c.numLayers - 1}), or use all`);
      }
      const heads: HeadFusion[] = o.head === "all" ? Array.from({ length: c.numHeads }, (_, h) => h)
        : ["mean", "max", "min"].includes(o.head) ? [o.head as HeadFusion] : [Number(o.head)];
      if (heads.some((h) => typeof h === "number" && !(Number.isInteger(h) && h >= 0 && h < c.numHeads))) {
        throw new VitlensError(`--head ${o.head} is out of range: the model has ${c.numHeads} heads (0..${c.numHeads - 1}), or use mean, max, min, all`);
      }
      outputFolder(o.out);
      const be = precisionBackend(o);
      const [rows, cols] = gridSize(c);
      const prefix = prefixTokens(c); // CLS, distillation, registers: left out of every map
      for (const image of images) {
        const stem = basename(image, extname(image));
        const pngPath = join(o.out, `${stem}.${o.method}.png`);
        const rawPath = join(o.out, `${stem}.${o.method}.safetensors`);
        checkOverwrite(pngPath, o.force);
        if (o.raw) checkOverwrite(rawPath, o.force);
        const pixels = await loadBatch([image], preprocess);
        // attribution needs the kept pass and a head; the other maps need only the attention probabilities (backbones too)
        const fwd = o.method === "attribution" ? forwardTrain(model, pixels, be, new Rng(0), false) : model.forward(pixels, be);
        const probs = fwd.logits ? softmax(Array.from(fwd.logits.data)) : [];
        const predicted = probs.indexOf(Math.max(...probs));
        const target = o.class ?? predicted;
        let attentionGrads: Tensor[] = [];
        if (o.method === "attribution" && "cache" in fwd) {
          const dlogits = new Float32Array(c.numClasses);
          dlogits[target] = 1;
          attentionGrads = backward(model, fwd, dlogits, zeroGrads(model.params), be).attentionGrads;
        }
        const maps: Array<{ title: string; values: Float32Array }> = [];
        if (o.method === "cls") {
          const layers = layer === "all" ? [...Array(c.numLayers).keys()] : [layer];
          for (const l of layers) for (const h of heads) {
            maps.push({ title: [layers.length > 1 ? `layer ${l}` : "", heads.length > 1 || typeof h === "number" ? `head ${h}` : `${h} of heads`].filter(Boolean).join(", "), values: clsAttention(fwd.attentions[l], 0, h, prefix) });
          }
        } else if (o.method === "rollout") {
          for (const h of heads) maps.push({ title: `rollout (${typeof h === "number" ? `head ${h}` : h}${o.discardRatio ? `, discard ${o.discardRatio}` : ""})`, values: rollout(fwd.attentions, 0, h, o.discardRatio, prefix) });
        } else {
          maps.push({ title: `attribution for "${labels[target] ?? target}"`, values: attribution(fwd.attentions, attentionGrads, 0, prefix) });
        }
        const display = await displayImage(image, c.imageSize);
        const tiles: Tile[] = [{ image: display, title: "input" }, ...maps.map((m) => ({ image: blendHeat(display, { values: m.values, rows, cols }), title: m.title }))];
        const caption = c.numClasses > 0 ? `predicted: ${labels[predicted]} (${(100 * probs[predicted]).toFixed(1)}%)` : undefined;
        writeFileAtomic(pngPath, [await tileGrid(tiles, o.columns, Math.max(160, Math.min(display.width, 224)), caption)]);
        if (o.raw) {
          const t = new Map<string, Tensor>();
          maps.forEach((m, i) => t.set(maps.length === 1 ? "map" : `map.${i}`, { data: m.values, shape: [rows, cols] }));
          fwd.attentions.forEach((a, l) => t.set(`layer.${l}`, { data: a.data, shape: a.shape.slice(1) }));
          writeSafetensors(rawPath, t, { format: "pt", method: o.method, titles: JSON.stringify(maps.map((m) => m.title)) });
        }
        process.stdout.write(`${pngPath}${o.raw ? ` ${rawPath}` : ""}\n`);
      }
    });
}
