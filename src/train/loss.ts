import { VitlensError } from "../errors.js";
import { logSumExp } from "../nn/log-softmax.js";

export interface LossResult {
  loss: number; // mean over the counted rows (0 when none is counted)
  dlogits: Float32Array; // (rows, C) dL/dlogits of the mean loss; 0 on ignored rows
  correct: number; // argmax hits among counted rows
  count: number; // rows whose target is not ignored
}

/**
 * Cross-entropy over rows of logits (rows, C), as PyTorch's F.cross_entropy: label smoothing
 * (target = (1-e)*onehot + e/C) and, when `ignoreIndex` is given, rows with that target skipped
 * (padding in a caption); the mean is over the rows counted. Used by every trainer.
 */
export function crossEntropy(logits: Float32Array, labels: ArrayLike<number>, C: number, smoothing = 0, ignoreIndex?: number): LossResult {
  const rows = labels.length;
  const dlogits = new Float32Array(rows * C);
  let count = 0;
  for (let r = 0; r < rows; r++) if (labels[r] !== ignoreIndex) count++;
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (y === ignoreIndex) continue;
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new VitlensError(`label ${y} is outside the model's ${C} classes (0..${C - 1})`);
    const row = logits.subarray(r * C, (r + 1) * C);
    let arg = 0;
    for (let i = 1; i < C; i++) if (row[i] > row[arg]) arg = i;
    const logZ = logSumExp(row);
    for (let i = 0; i < C; i++) {
      const target = (i === y ? 1 - smoothing : 0) + smoothing / C;
      loss -= target * (row[i] - logZ);
      dlogits[r * C + i] = (Math.exp(row[i] - logZ) - target) / count;
    }
    if (arg === y) correct++;
  }
  return { loss: count ? loss / count : 0, dlogits, correct, count };
}
