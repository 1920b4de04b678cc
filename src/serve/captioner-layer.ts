import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readMetrics } from "../train/metrics.js";

/**
 * The decoder layer the caption view starts on: the one whose word maps grounded best in the
 * captioner's own validation (the last epoch's val_grounding_per_layer in its metrics.jsonl: the
 * share of item words whose map peaks in the item's cell), else the last layer.
 */
export function captionerDefaultLayer(source: string, layers: number): { defaultLayer: number; defaultLayerWhy: string | null } {
  const last = { defaultLayer: layers - 1, defaultLayerWhy: null };
  if (!existsSync(source)) return last;
  const folder = statSync(source).isDirectory() ? source : dirname(source);
  // A train-captioner run's best/ or last/ model: the metrics are the run's, one folder up.
  const candidates = [join(folder, "metrics.jsonl"), ...(["best", "last"].includes(basename(folder)) ? [join(folder, "..", "metrics.jsonl")] : [])];
  const file = candidates.find((f) => existsSync(f));
  if (!file) return last;
  const epochs = readMetrics(file).filter((r) => r.type === "epoch" && Array.isArray(r.val_grounding_per_layer));
  const perLayer = epochs.at(-1)?.val_grounding_per_layer as unknown[] | undefined;
  if (!perLayer || perLayer.length !== layers || !perLayer.every((v) => typeof v === "number")) return last;
  const scores = perLayer as number[];
  const best = scores.indexOf(Math.max(...scores));
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  return {
    defaultLayer: best,
    defaultLayerWhy: `grounds best in the captioner's validation: ${scores.map((v, l) => `layer ${l} ${pct(v)}`).join(", ")} of item words peak in their item's cell`,
  };
}
