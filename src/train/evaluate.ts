import type { Backend } from "../backend/backend.js";
import type { Dataset } from "../data/datasets.js";
import { batches } from "../data/loader.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import type { ViT } from "../models/vit.js";
import { crossEntropy } from "./loss.js";

export interface EvalResult {
  samples: number;
  loss: number;
  accuracy: number;
  top5: number;
  perClass: Array<{ label: string; accuracy: number; count: number }>;
  confusion: number[][]; // [true][predicted]
  skipped: number;
  /** the unreadable images left out, with why (vitlens' words) */
  skippedFiles: string[];
}

/** Each evaluated image's top-1 class, by dataset index (for picking examples to show). */
export interface BatchPredictions {
  indices: number[];
  predicted: number[];
}

/** Accuracy, top-5, per-class accuracy and the confusion matrix over a dataset (no augmentation). */
export async function evaluate(
  model: ViT, ds: Dataset, preprocess: PreprocessConfig, be: Backend, batchSize: number,
  onBatch?: (done: number, batch: BatchPredictions) => void, strict = false, onSkip?: (message: string) => void,
): Promise<EvalResult> {
  const C = model.config.numClasses;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let lossSum = 0;
  let top5 = 0;
  let samples = 0;
  const skippedFiles: string[] = [];
  const order = Array.from({ length: ds.size }, (_, i) => i);
  const skip = (_name: string, reason: string) => {
    skippedFiles.push(reason);
    onSkip?.(reason);
  };
  const opts = { batchSize, preprocess, augment: null, seed: 0, epoch: 0, strict, onSkip: skip };
  for await (const batch of batches(ds, order, opts)) {
    const B = batch.labels.length;
    if (B === 0) continue;
    const logits = model.forward(batch.pixels, be, { attentions: false }).logits!.data;
    lossSum += crossEntropy(logits, batch.labels, C).loss * B;
    const predicted: number[] = [];
    for (let b = 0; b < B; b++) {
      const row = Array.from(logits.subarray(b * C, (b + 1) * C));
      const ranked = row.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]);
      const y = batch.labels[b];
      confusion[y][ranked[0][1]]++;
      predicted.push(ranked[0][1]);
      if (ranked.slice(0, 5).some(([, i]) => i === y)) top5++;
    }
    samples += B;
    onBatch?.(samples, { indices: batch.indices, predicted });
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  const labels = ds.classNames;
  return {
    samples,
    loss: samples ? lossSum / samples : NaN,
    accuracy: samples ? correct / samples : NaN,
    top5: samples ? top5 / samples : NaN,
    perClass: confusion.map((row, i) => {
      const count = row.reduce((a, b) => a + b, 0);
      return { label: labels[i] ?? String(i), accuracy: count ? row[i] / count : NaN, count };
    }),
    confusion,
    skipped: skippedFiles.length,
    skippedFiles,
  };
}
