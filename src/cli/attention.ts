import { UnreadableImageError } from "../data/raw-image.js";
import { withExifFlag, MODEL_HELP, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";
import { basename, extname, join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { loadBatch } from "../data/preprocess.js";
import { VitlensError } from "../errors.js";
import { attribution, clsAttention, keepMask, prefixShares, queryName, rollout, type HeadFusion, type TokenLayout } from "../explain/attention-maps.js";
import { tokenNorms } from "../explain/token-norms.js";
import { streamAfter, vitBackward, vitForward } from "../models/vit-pass.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { gridSize, prefixNames, tokenLayout } from "../models/vit-config.js";
import { softmax } from "../models/scores.js";
import { zeroGrads } from "../models/vit-train.js";
import { blendHeat, blendMask, displayImage, tileGrid, type Tile } from "../render/overlay.js";
import type { Tensor } from "../tensor.js";
import type { ViTConfig } from "../models/vit-config.js";
import { prepareOutputs } from "./outputs.js";
import { loadCliModel } from "./load-model.js";
import { catchInterrupt, stoppedEarly } from "./interrupt.js";
import { taskProgress } from "./progress.js";
import { plural } from "../words.js";

interface Options {
  model: string; out: string; layer: string; head: string; method: string; discardRatio: number;
  class?: number; raw?: boolean; force?: boolean; columns: number; keep?: number; strict?: boolean;
}

const METHODS = ["cls", "rollout", "attribution", "norm"];

const ratio = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError("expected a value in [0, 1)");
  return n;
};

/** The image as the model sees it (resized to its input), at least 224 px wide for display. */
export function attentionCommand(): Command {
  return withExifFlag(withPrecisionFlag(withCheckpointFlags(new Command("attention"))))
    .description("attention maps over images: CLS attention per layer/head (DINO's --keep masks), rollout, gradient-weighted attribution, or token norms")
    .requiredOption("--model <spec>", MODEL_HELP)
    .requiredOption("--out <dir>", "folder for the PNGs (and --raw safetensors)")
    .option("--method <cls|rollout|attribution|norm>", "what to draw (norm: each token's L2 norm after --layer, the registers paper's artifact map)", "cls")
    .option("--layer <L|all|last>", "layer for --method cls and norm", "last")
    .option("--head <H|mean|max|min|all>", "one head, a fusion over heads, or every head", "mean")
    .option("--discard-ratio <r>", "rollout: zero this share of the weakest attentions per layer", ratio, 0)
    .option("--keep <share>", "cls: DINO's threshold mask, the fewest patches holding this share of each map's mass (DINO's figures: 0.6)", (v) => {
      const n = Number(v);
      if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("expected a share in (0, 1]");
      return n;
    })
    .option("--class <c>", "attribution: target class index (default: the predicted one)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a class index");
      return n;
    })
    .option("--columns <n>", "tiles per row in grids", (v) => Number(v), 7)
    .option("--raw", "also write the maps and every layer's attention (heads, N, N) as safetensors")
    .option("--force", "overwrite existing files")
    .option("--strict", "stop at the first unreadable image (default: skip it, naming it)")
    .argument("<images...>", "image files")
    .action(async (images: string[], o: Options & CheckpointFlagValues & PrecisionFlagValues) => {
      if (!METHODS.includes(o.method)) throw new VitlensError(`--method ${o.method}: expected ${METHODS.join(", ")}`);
      if (o.keep !== undefined && o.method !== "cls") throw new VitlensError(`--keep applies to --method cls (DINO's per-head masks), not ${o.method}`);
      // every file this run writes, checked before the model is loaded
      const stems = images.map((image) => basename(image, extname(image)));
      const pngPath = (i: number) => join(o.out, `${stems[i]}.${o.method}.png`);
      const rawPath = (i: number) => join(o.out, `${stems[i]}.${o.method}.safetensors`);
      prepareOutputs([
        { flag: "--out", path: o.out, kind: "folder" },
        ...images.flatMap((_, i) => [{ path: pngPath(i), kind: "file" as const }, o.raw && { path: rawPath(i), kind: "file" as const }]),
      ], o.force);
      const { model, preprocess, labels } = await loadCliModel(o.model, o);
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
      const be = precisionBackend(o);
      const [rows, cols] = gridSize(c);
      const layout = tokenLayout(c); // CLS, distillation, registers: left out of every map
      const query = queryName(layout);
      let skipped = 0;
      let drawn = 0;
      const interrupted = catchInterrupt(); // Ctrl-C: the maps drawn so far stay, exit 130
      const progress = taskProgress("attention", images.length, "images");
      for (const [index, image] of images.entries()) {
        if (interrupted()) break;
        progress.update(index);
        let pixels: Tensor;
        try {
          pixels = await loadBatch([image], preprocess);
        } catch (e) {
          // one policy for bad files: named, counted, the others still drawn (--strict stops)
          if (o.strict || !(e instanceof UnreadableImageError)) throw e;
          process.stderr.write(`vitlens: skipped ${e.message}\n`);
          skipped++;
          continue;
        }
        // one pass per image: attribution keeps it (with a head), norm keeps its stream (with the logits when there is a head); the others need only the attention probabilities
        const keep = o.method === "attribution" || o.method === "norm";
        const fwd = vitForward(model, pixels, be, { output: c.numClasses > 0 ? "logits" : "tokens", keep });
        const probs = fwd.logits ? softmax(Array.from(fwd.logits.data)) : [];
        const predicted = probs.indexOf(Math.max(...probs));
        const target = o.class ?? predicted;
        let attentionGrads: Tensor[] = [];
        if (o.method === "attribution") {
          const dlogits = new Float32Array(c.numClasses);
          dlogits[target] = 1;
          attentionGrads = vitBackward(model, fwd, dlogits, zeroGrads(model.params), be);
        }
        const maps: Array<{ title: string; values: Float32Array }> = [];
        const layers = layer === "all" ? [...Array(c.numLayers).keys()] : [layer];
        if (o.method === "cls") {
          for (const l of layers) for (const h of heads) {
            const values = clsAttention(fwd.attentions[l], 0, h, layout);
            const title = [layers.length > 1 ? `layer ${l}` : "", heads.length > 1 || typeof h === "number" ? `head ${h}` : `${h} of heads`, o.keep ? `keep ${Math.round(o.keep * 100)}%` : ""].filter(Boolean).join(", ");
            maps.push({ title, values: o.keep ? keepMask(values, o.keep) : values });
          }
        } else if (o.method === "rollout") {
          for (const h of heads) maps.push({ title: `rollout (${typeof h === "number" ? `head ${h}` : h}${o.discardRatio ? `, discard ${o.discardRatio}` : ""})`, values: rollout(fwd.attentions, 0, h, o.discardRatio, layout) });
        } else if (o.method === "attribution") {
          maps.push({ title: `attribution for "${labels[target] ?? target}"`, values: attribution(fwd.attentions, attentionGrads, 0, layout) });
        } else {
          for (const l of layers) {
            const norms = tokenNorms(streamAfter(c, fwd.acts, l), fwd.acts.dims.N, c.hiddenSize, 0);
            maps.push({ title: `token norm after layer ${l}`, values: norms.subarray(layout.prefix) });
            if (layout.prefix) progress.print(`${image}: layer ${l} token norms: prefix ${Array.from(norms.subarray(0, layout.prefix), (v) => v.toFixed(1)).join(", ")}; patches max ${Math.max(...norms.subarray(layout.prefix)).toFixed(1)}, median ${median(norms.subarray(layout.prefix)).toFixed(1)}\n`);
          }
        }
        if (!layout.cls && o.method !== "norm") progress.print(`${image}: no CLS token: maps show the ${query}\n`);
        if (layout.prefix > 1 && (o.method === "cls" || o.method === "rollout")) progress.print(`${image}: ${describeShares(c, fwd.attentions[layers[layers.length - 1]], layout)}\n`);
        const display = await displayImage(image, c.imageSize);
        const draw = (values: Float32Array) => (o.keep ? blendMask : blendHeat)(display, { values, rows, cols });
        const tiles: Tile[] = [{ image: display, title: "input" }, ...maps.map((m) => ({ image: draw(m.values), title: m.title }))];
        const caption = c.numClasses > 0 ? `predicted: ${labels[predicted]} (${(100 * probs[predicted]).toFixed(1)}%)` : undefined;
        writeFileAtomic(pngPath(index), [await tileGrid(tiles, o.columns, Math.max(160, Math.min(display.width, 224)), caption)]);
        if (o.raw) {
          const t = new Map<string, Tensor>();
          maps.forEach((m, i) => t.set(maps.length === 1 ? "map" : `map.${i}`, { data: m.values, shape: [rows, cols] }));
          fwd.attentions.forEach((a, l) => t.set(`layer.${l}`, { data: a.data, shape: a.shape.slice(1) }));
          if (layout.prefix) fwd.attentions.forEach((a, l) => t.set(`prefix_share.${l}`, { data: prefixShares(a, 0, "mean", layout), shape: [layout.prefix] }));
          writeSafetensors(rawPath(index), t, { format: "pt", method: o.method, query, titles: JSON.stringify(maps.map((m) => m.title)) });
        }
        progress.print(`${pngPath(index)}${o.raw ? ` ${rawPath(index)}` : ""}\n`);
        drawn++;
      }
      progress.update(drawn + skipped);
      progress.stop();
      if (stoppedEarly(drawn + skipped, images.length)) {
        process.stderr.write(`vitlens: interrupted after ${drawn + skipped} of ${plural(images.length, "image")}: ${drawn ? `${plural(drawn, "map file")} kept in ${o.out}` : "nothing drawn"}\n`);
        return;
      }
      if (skipped === images.length) throw new VitlensError(images.length === 1 ? "the image could not be read" : `none of the ${images.length} images could be read`);
      if (skipped) process.stderr.write(`vitlens: ${plural(drawn, "image")} drawn, ${skipped} skipped (not readable)\n`);
    });
}

function median(v: Float32Array): number {
  const s = Float32Array.from(v).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** What share of the CLS row (mean of heads) goes to each kind of prefix token, and to the patches. */
function describeShares(c: ViTConfig, att: Tensor, layout: TokenLayout): string {
  const shares = prefixShares(att, 0, "mean", layout);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const names = prefixNames(c);
  const parts = names.flatMap((name, i) => (name.startsWith("register") ? [] : [`${name} ${pct(shares[i])}`]));
  const registers = names.flatMap((name, i) => (name.startsWith("register") ? [shares[i]] : []));
  if (registers.length) parts.push(`registers ${pct(registers.reduce((a, b) => a + b, 0))} (${registers.map(pct).join(", ")})`);
  const patches = 1 - shares.reduce((a, b) => a + b, 0);
  return `the ${layout.cls ? "CLS row" : "patch-row mean (no CLS token)"} (mean of heads) goes to: ${parts.join(", ")}, patches ${pct(patches)}`;
}
