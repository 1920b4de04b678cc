import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";

/**
 * Softmax in float64 for stable scores: of one row of logits (an array or Float32Array), or of a
 * model's `logits` tensor (B, classes) — one row of scores per image. `null` (the logits of a model
 * without a classification head) is refused in one line, so `softmax(model.forward(px).logits)` composes.
 */
export function softmax(row: ArrayLike<number>): number[];
export function softmax(logits: Tensor | null): number[][];
export function softmax(x: ArrayLike<number> | Tensor | null): number[] | number[][] {
  if (x === null) throw new VitlensError("softmax: no logits (the model has no classification head: a backbone gives features and attentions only)");
  if (!("shape" in x)) return softmaxRow(x);
  const classes = x.shape[x.shape.length - 1] ?? 0;
  const rows = classes ? x.data.length / classes : 0;
  return Array.from({ length: rows }, (_, b) => softmaxRow(x.data.subarray(b * classes, (b + 1) * classes)));
}

function softmaxRow(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The k highest scores with their class indices, best first (ties: the lower index first). */
export function topK(scores: ArrayLike<number>, k: number): Array<{ index: number; score: number }> {
  return Array.from(scores, (score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);
}
