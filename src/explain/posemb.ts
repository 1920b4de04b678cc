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

/** A model's position-embedding similarity (P, P), or null when it has no absolute position embedding (BEiT's relative bias only). */
export function modelPositionSimilarity(params: Map<string, Tensor>, prefix: number): Tensor | null {
  const pos = params.get("pos_embed");
  return pos ? positionSimilarity(pos, prefix) : null;
}

/** Why there is no position-embedding figure for such a model. */
export const NO_POSITION_EMBEDDING = "the model has no absolute position embedding (it uses relative position bias only, as BEiT and Data2Vec-vision can): nothing to draw";
