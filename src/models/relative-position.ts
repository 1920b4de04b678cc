/*
 * BEiT's relative position bias (Bao et al. 2022; HF modeling_beit.py, timm beit.py): a learned
 * table with one row per (dy, dx) offset between two patches of a gh x gw grid, plus three rows
 * for CLS -> patch, patch -> CLS and CLS -> CLS, and one column per head. The bias of query i and
 * key j is table[index[i, j], h], added to the scaled attention scores.
 */

const indexCache = new Map<string, Int32Array>();

/** index (N, N), N = 1 + gh*gw with CLS first: each pair's row in the table. */
export function relativePositionIndex(gh: number, gw: number): Int32Array {
  const key = `${gh}x${gw}`;
  const hit = indexCache.get(key);
  if (hit) return hit;
  const P = gh * gw;
  const N = P + 1;
  const distances = (2 * gh - 1) * (2 * gw - 1);
  const index = new Int32Array(N * N);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) {
      const dy = Math.floor(i / gw) - Math.floor(j / gw) + gh - 1; // in [0, 2gh-2]
      const dx = (i % gw) - (j % gw) + gw - 1; // in [0, 2gw-2]
      index[(1 + i) * N + 1 + j] = dy * (2 * gw - 1) + dx;
    }
  }
  for (let j = 1; j < N; j++) index[j] = distances; // CLS -> patch
  for (let i = 1; i < N; i++) index[i * N] = distances + 1; // patch -> CLS
  index[0] = distances + 2; // CLS -> CLS
  indexCache.set(key, index);
  return index;
}

/** The bias (H, N, N) from the table (rows, H). */
export function relativeBias(table: Float32Array, index: Int32Array, H: number): Float32Array {
  const NN = index.length;
  const bias = new Float32Array(H * NN);
  for (let h = 0; h < H; h++) for (let k = 0; k < NN; k++) bias[h * NN + k] = table[index[k] * H + h];
  return bias;
}

/** dL/d(table) += the bias gradient (H, N, N) gathered back into the table's rows. */
export function relativeBiasBackward(dbias: Float32Array, index: Int32Array, H: number, dtable: Float32Array): void {
  const NN = index.length;
  for (let h = 0; h < H; h++) for (let k = 0; k < NN; k++) dtable[index[k] * H + h] += dbias[h * NN + k];
}
