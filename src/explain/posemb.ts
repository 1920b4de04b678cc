import type { Tensor } from "../tensor.js";

/**
 * Cosine similarity between the position embeddings of every pair of patches (CLS excluded):
 * (P, P), row i = patch i's similarity map, patches in row-major grid order (ViT paper, Fig. 7).
 * pos: (1, 1 + P, D).
 */
export function positionSimilarity(pos: Tensor, prefix = 1): Tensor {
  const [, n, D] = pos.shape;
  const P = n - prefix;
  const unit = new Float64Array(P * D);
  for (let i = 0; i < P; i++) {
    let norm = 0;
    for (let d = 0; d < D; d++) norm += pos.data[(prefix + i) * D + d] ** 2;
    const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let d = 0; d < D; d++) unit[i * D + d] = pos.data[(prefix + i) * D + d] * inv;
  }
  const sim = new Float32Array(P * P);
  for (let i = 0; i < P; i++)
    for (let j = i; j < P; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += unit[i * D + d] * unit[j * D + d];
      sim[i * P + j] = sim[j * P + i] = dot;
    }
  return { data: sim, shape: [P, P] };
}
