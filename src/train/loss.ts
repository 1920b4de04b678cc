import { VitlensError } from "../errors.js";

export interface LossResult {
  loss: number; // mean over the batch
  dlogits: Float32Array; // (B, C) dL/dlogits of the mean loss
  correct: number; // argmax hits
}

/** Cross-entropy with optional label smoothing (PyTorch's: target = (1-e)*onehot + e/C). */
export function crossEntropy(logits: Float32Array, labels: ArrayLike<number>, C: number, smoothing = 0): LossResult {
  const B = labels.length;
  const dlogits = new Float32Array(B * C);
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new VitlensError(`label ${y} is outside the model's ${C} classes (0..${C - 1})`);
    const row = logits.subarray(b * C, (b + 1) * C);
    let max = -Infinity;
    let arg = 0;
    for (let i = 0; i < C; i++) {
      if (row[i] > max) {
        max = row[i];
        arg = i;
      }
    }
    let sum = 0;
    for (let i = 0; i < C; i++) sum += Math.exp(row[i] - max);
    const logZ = max + Math.log(sum);
    for (let i = 0; i < C; i++) {
      const target = (i === y ? 1 - smoothing : 0) + smoothing / C;
      const prob = Math.exp(row[i] - logZ);
      loss -= target * (row[i] - logZ);
      dlogits[b * C + i] = (prob - target) / B;
    }
    if (arg === y) correct++;
  }
  return { loss: loss / B, dlogits, correct };
}
