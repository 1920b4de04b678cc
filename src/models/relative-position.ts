import type { Tensor } from "../tensor.js";

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

/**
 * The table (rows, H) of a from-grid for a to-grid, as transformers' BeitRelativePositionBias makes
 * it for any input size: the (2fh-1)(2fw-1) offset rows resized bilinearly (torch's interpolate,
 * align_corners=False) to (2th-1)(2tw-1), the three CLS rows kept. Like transformers, the offset
 * rows are read as (2fw-1) x (2fh-1): the same thing for a square grid, while a non-square table
 * changes even at its own size (so adapt() re-reads it there too, as transformers does).
 */
export function resizeRelativeTable(table: Tensor, from: [number, number], to: [number, number]): Tensor {
  const [rows, H] = table.shape;
  const [srcH, srcW] = [2 * from[1] - 1, 2 * from[0] - 1];
  const [dstH, dstW] = [2 * to[0] - 1, 2 * to[1] - 1];
  const extra = rows - srcH * srcW; // CLS -> patch, patch -> CLS, CLS -> CLS
  const out = new Float32Array((dstH * dstW + extra) * H);
  const ys = linearTaps(srcH, dstH);
  const xs = linearTaps(srcW, dstW);
  const src = table.data;
  for (let y = 0; y < dstH; y++) {
    const { i0: y0, i1: y1, w1: wy } = ys[y];
    for (let x = 0; x < dstW; x++) {
      const { i0: x0, i1: x1, w1: wx } = xs[x];
      for (let h = 0; h < H; h++) {
        const at = (r: number, c: number) => src[(r * srcW + c) * H + h];
        const top = (1 - wx) * at(y0, x0) + wx * at(y0, x1);
        const bottom = (1 - wx) * at(y1, x0) + wx * at(y1, x1);
        out[(y * dstW + x) * H + h] = (1 - wy) * top + wy * bottom;
      }
    }
  }
  out.set(src.subarray(srcH * srcW * H), dstH * dstW * H);
  return { data: out, shape: [dstH * dstW + extra, H] };
}

/** torch's linear taps without align_corners: source (dst + 0.5) * in/out - 0.5, clamped at 0. */
function linearTaps(inSize: number, outSize: number): { i0: number; i1: number; w1: number }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, d) => {
    const s = Math.max(scale * (d + 0.5) - 0.5, 0);
    const i0 = Math.floor(s);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w1: s - i0 };
  });
}
