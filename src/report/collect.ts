import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { readJson } from "../io/read-json.js";
import { loadModel, type CheckpointFlags } from "../checkpoint/load.js";
import { VitlensError } from "../errors.js";
import { rollout } from "../explain/attention-maps.js";
import { modelPositionSimilarity } from "../explain/posemb.js";
import { imagePixels } from "../data/preprocess.js";
import type { RawImage } from "../data/raw-image.js";
import { formatModuleTree } from "../models/module-tree.js";
import { familyTree } from "../checkpoint/family-tree.js";
import { gridSize, posEmbedPrefix, tokenLayout } from "../models/vit-config.js";
import { softmax } from "../models/scores.js";
import type { Tensor } from "../tensor.js";
import { evaluate, type EvalResult } from "../train/evaluate.js";
import { openDatasets } from "../train/trainer.js";
import { alignToModel } from "../data/classes.js";
import { setExifRotate } from "../data/raw-image.js";
import { readMetrics } from "../train/metrics.js";
import { parseSavedOptions, trainOptionsSchema } from "../train/run-options.js";

export interface GalleryItem {
  image: RawImage;
  name: string;
  label: string;
  predicted: string;
  score: number;
  correct: boolean;
  map: { values: Float32Array; rows: number; cols: number; title: string };
}

/** A captioned image for the report: what `vitlens caption` wrote (captions.json + strip PNGs). */
export interface ReportCaption {
  image: string;
  caption: string;
  score: number;
  strip: Buffer;
}

/** Reads the output folder of `vitlens caption --out DIR`. */
export function readCaptionOutputs(dir: string): ReportCaption[] {
  const path = join(dir, "captions.json");
  if (!existsSync(path)) throw new VitlensError(`--captions ${dir}: no captions.json (expected the --out folder of vitlens caption)`);
  const entries = JSON.parse(readFileSync(path, "utf8")) as Array<{ image: string; caption: string; score: number; strip: string }>;
  return entries.map((e) => {
    const strip = join(dir, e.strip);
    if (!existsSync(strip)) throw new VitlensError(`${path}: strip ${e.strip} is missing`);
    return { image: e.image, caption: e.caption, score: e.score, strip: readFileSync(strip) };
  });
}

/** Everything the HTML report shows, gathered from a run folder. */
export interface ReportData {
  run: string;
  recipe: string;
  options: Record<string, unknown>;
  dataDescription: string;
  modelSource: string;
  metrics: Array<Record<string, number | string | null>>;
  evaluation: EvalResult | null;
  classNames: string[];
  architecture: string;
  numParameters: number;
  similarity: { sim: Tensor; rows: number; cols: number } | null; // null: no absolute position embedding
  gallery: GalleryItem[];
  captions: ReportCaption[] | null;
}

/**
 * Which validation images the gallery shows (dataset indices): the classes in turn, each giving
 * its next correct and its next wrong image (in dataset order) when it has one, until `size` are
 * picked. A validation set sorted by class thus still shows every class, right and wrong.
 * `predicted` holds the evaluated images' top-1 classes; images it lacks (skipped) are not shown.
 */
export function pickGallery(labels: ArrayLike<number>, predicted: ReadonlyMap<number, number>, size: number): number[] {
  const byClass = new Map<number, { right: number[]; wrong: number[] }>();
  for (const i of [...predicted.keys()].sort((a, b) => a - b)) {
    const c = labels[i];
    if (!byClass.has(c)) byClass.set(c, { right: [], wrong: [] });
    byClass.get(c)![predicted.get(i) === c ? "right" : "wrong"].push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const picks: number[] = [];
  for (let round = 0; picks.length < size; round++) {
    const next = classes.flatMap((c) => [byClass.get(c)!.right[round], byClass.get(c)!.wrong[round]]).filter((i) => i !== undefined);
    if (next.length === 0) break;
    picks.push(...next.slice(0, size - picks.length));
  }
  return picks;
}

/**
 * Reads RUN (run.json, metrics.jsonl, best/), evaluates the best model on the run's validation
 * data and picks a gallery of `2 * perKind` correct and wrong validation images across the
 * classes (see pickGallery) with their rollout maps.
 */
export async function collectReport(
  run: string, be: Backend, perKind = 6, captionsDir: string | null = null, checkpoint: CheckpointFlags = {},
  onProgress?: (done: number, total: number) => void, // validation images scored so far
): Promise<ReportData> {
  if (!existsSync(join(run, "run.json"))) throw new VitlensError(`${run}: not a vitlens run (no run.json)`);
  const info = readJson(join(run, "run.json")) as { options: unknown; recipe: string; model_source: string; train: string; val: string | null };
  const options = parseSavedOptions(trainOptionsSchema, info.options, join(run, "run.json"));
  const metrics = readMetrics(join(run, "metrics.jsonl")) as Array<Record<string, number | string | null>>;
  const modelDir = existsSync(join(run, "best", "config.json")) ? join(run, "best") : join(run, "last");
  if (!existsSync(join(modelDir, "config.json"))) throw new VitlensError(`${run}: no best/ or last/ model yet (has an epoch finished?)`);
  const loaded = loadModel(modelDir, checkpoint);
  const { model, preprocess, labels } = loaded;
  const [rows, cols] = gridSize(model.config);

  let evaluation: EvalResult | null = null;
  const gallery: GalleryItem[] = [];
  setExifRotate(options.exifRotate); // the pixels the run trained on
  const opened = (await openDatasets(options)).val;
  const val = opened ? alignToModel(opened, labels, `the run's validation data ${options.val ?? options.data}`).ds : null;
  if (val) {
    const predicted = new Map<number, number>(); // dataset index -> top-1 class
    evaluation = await evaluate(model, val, preprocess, be, 64, (done, b) => {
      b.indices.forEach((i, k) => predicted.set(i, b.predicted[k]));
      onProgress?.(done, val.size);
    });
    const [H, W] = preprocess.size;
    const pixels = new Float32Array(3 * H * W);
    for (const i of pickGallery(val.labels, predicted, 2 * perKind)) {
      const img = await val.raw(i).catch(() => null);
      if (!img) continue;
      await imagePixels(img, preprocess, {}, pixels);
      const out = model.forward({ data: pixels, shape: [1, 3, H, W] }, be);
      const probs = softmax(Array.from(out.logits!.data));
      const pred = probs.indexOf(Math.max(...probs));
      gallery.push({
        image: img, name: val.name(i), label: labels[val.labels[i]], predicted: labels[pred], score: probs[pred], correct: pred === val.labels[i],
        map: { values: rollout(out.attentions, 0, "mean", 0, tokenLayout(model.config)), rows, cols, title: "attention rollout" },
      });
    }
  }
  return {
    run, recipe: info.recipe, options,
    dataDescription: `${info.train}${info.val ? `; validation: ${info.val}` : ""}`, modelSource: info.model_source,
    metrics, evaluation, classNames: labels, architecture: formatModuleTree(familyTree(loaded).tree),
    numParameters: model.numParameters, similarity: similarityOf(model.params, posEmbedPrefix(model.config), rows, cols), gallery,
    captions: captionsDir ? readCaptionOutputs(captionsDir) : null,
  };
}

function similarityOf(params: Map<string, Tensor>, prefix: number, rows: number, cols: number): ReportData["similarity"] {
  const sim = modelPositionSimilarity(params, prefix);
  return sim ? { sim, rows, cols } : null;
}
