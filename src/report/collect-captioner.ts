import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadCaptioner } from "../caption/captioner.js";
import { captionImages } from "../caption/evaluate.js";
import { captionStrip } from "../render/caption-strip.js";
import { captionSplits } from "../caption/trainer.js";
import { readMetrics } from "../train/metrics.js";
import { captionerTrainOptionsSchema, parseSavedOptions } from "../train/run-options.js";
import { readJson } from "../io/read-json.js";
import { VitlensError } from "../errors.js";
import type { ReportCaption } from "./collect.js";

/** What the report of a train-captioner run shows. */
export interface CaptionerReportData {
  run: string;
  options: Record<string, unknown>;
  encoderSource: string;
  dataDescription: string;
  metrics: Array<Record<string, number | string | null>>;
  decoder: Record<string, unknown>;
  numParameters: number;
  vocabulary: string[];
  captions: ReportCaption[];
  mapLayer: number;
  mapLayerReason: string;
}

/** Reads RUN (run.json, metrics.jsonl, best/) and captions the first `count` held-out images (beam 3). */
export async function collectCaptionerReport(run: string, be: Backend, count = 8, onProgress?: (done: number, total: number) => void): Promise<CaptionerReportData> {
  const info = readJson(join(run, "run.json")) as { options: unknown; encoder_source: string; train: string; val: string };
  const options = parseSavedOptions(captionerTrainOptionsSchema, info.options, join(run, "run.json"));
  const metrics = readMetrics(join(run, "metrics.jsonl")) as Array<Record<string, number | string | null>>;
  const modelDir = existsSync(join(run, "best", "config.json")) ? join(run, "best") : join(run, "last");
  if (!existsSync(join(modelDir, "config.json"))) throw new VitlensError(`${run}: no best/ or last/ captioner yet`);
  const cap = loadCaptioner(modelDir);
  const held = captionSplits({ ...options, strict: false }).valImages.slice(0, count);
  // Draw the decoder layer whose maps were best grounded on held-out data at the last epoch, if measured.
  const lastEpoch = metrics.filter((m) => m.type === "epoch").pop() as { val_grounding_per_layer?: number[] } | undefined;
  const perLayer = lastEpoch?.val_grounding_per_layer ?? [];
  const best = perLayer.length ? perLayer.indexOf(Math.max(...perLayer)) : cap.decoderConfig.numLayers - 1;
  const mapLayerReason = perLayer.length ? `best held-out grounding at the last epoch (${perLayer.map((g, l) => `layer ${l}: ${(100 * g).toFixed(1)}%`).join(", ")})` : "the last layer";
  const results = await captionImages(cap, held.map((i) => i.file), { beam: 3, maxLength: cap.decoderConfig.maxLength, lengthPenalty: 1, layer: best, head: "mean" }, be, (done) => onProgress?.(done, held.length));
  const captions: ReportCaption[] = [];
  for (const r of results) captions.push({ image: r.image, caption: r.caption, score: r.score, strip: await captionStrip(r, cap.encoder.config.imageSize) });
  let numParameters = 0;
  for (const t of cap.allParams().values()) numParameters += t.data.length;
  return {
    run, options, encoderSource: info.encoder_source,
    dataDescription: `${info.train}; held out: ${info.val}`, metrics, decoder: cap.decoderConfig as unknown as Record<string, unknown>,
    numParameters, vocabulary: cap.vocab.tokens, captions, mapLayer: best, mapLayerReason,
  };
}
