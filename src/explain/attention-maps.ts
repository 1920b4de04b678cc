import { VitlensError } from "../errors.js";
import type { Tensor } from "../tensor.js";

/** How heads are fused into one map: one head by index, or the mean / max / min over heads. */
export type HeadFusion = number | "mean" | "max" | "min";

/** One image's attention of one layer, heads fused: (N, N). att: (B, H, N, N). */
export function fuseHeads(att: Tensor, image: number, fusion: HeadFusion): Float64Array {
  const [B, H, N] = att.shape;
  if (image < 0 || image >= B) throw new VitlensError(`image ${image} is out of range (batch of ${B})`);
  if (typeof fusion === "number" && (fusion < 0 || fusion >= H || !Number.isInteger(fusion))) {
    throw new VitlensError(`--head ${fusion} is out of range: the model has ${H} heads (0..${H - 1})`);
  }
  const out = new Float64Array(N * N);
  const base = image * H * N * N;
  if (typeof fusion === "number") {
    for (let k = 0; k < N * N; k++) out[k] = att.data[base + fusion * N * N + k];
    return out;
  }
  for (let k = 0; k < N * N; k++) {
    let acc = fusion === "mean" ? 0 : att.data[base + k];
    for (let h = 0; h < H; h++) {
      const v = att.data[base + h * N * N + k];
      acc = fusion === "mean" ? acc + v / H : fusion === "max" ? Math.max(acc, v) : Math.min(acc, v);
    }
    out[k] = acc;
  }
  return out;
}

/**
 * Where the patches start and whether row 0 is a CLS token: `prefix` tokens (CLS, distillation,
 * registers) come before the patches and are left out of every map. A model without a CLS token
 * has no CLS row: its maps read the mean of the patch rows instead (what average pooling attends
 * with), and say so in their titles (queryName). A plain number is a prefix with a CLS token.
 */
export interface TokenLayout {
  prefix: number;
  cls: boolean;
}

const layoutOf = (l: number | TokenLayout): TokenLayout => (typeof l === "number" ? { prefix: l, cls: true } : l);

/** How the maps' query is named: "CLS", or the patch mean of a model without one. */
export function queryName(l: number | TokenLayout): string {
  return layoutOf(l).cls ? "CLS" : "mean of the patch rows (no CLS token)";
}

/** The query row of an (N, N) matrix over every column, prefix tokens first: row 0 (CLS), or the mean of the patch rows. */
function fullQueryRow(m: Float64Array, N: number, l: TokenLayout): Float64Array {
  if (l.cls) return m.slice(0, N);
  const P = N - l.prefix;
  const out = new Float64Array(N);
  for (let i = l.prefix; i < N; i++) for (let k = 0; k < N; k++) out[k] += m[i * N + k] / P;
  return out;
}

/** The query row over the patch columns: (P). */
function queryRow(m: Float64Array, N: number, l: TokenLayout): Float32Array {
  return Float32Array.from(fullQueryRow(m, N, l).subarray(l.prefix));
}

/** The query's whole attention row, one layer, heads fused: (N), the prefix tokens' columns first. */
export function queryAttentionRow(att: Tensor, image: number, fusion: HeadFusion, layout: number | TokenLayout = 1): Float64Array {
  return fullQueryRow(fuseHeads(att, image, fusion), att.shape[2], layoutOf(layout));
}

/** The CLS token's attention over the patches, one layer, heads fused: (P). */
export function clsAttention(att: Tensor, image: number, fusion: HeadFusion, layout: number | TokenLayout = 1): Float32Array {
  return queryRow(fuseHeads(att, image, fusion), att.shape[2], layoutOf(layout));
}

/** The share of the query row (CLS, or the patch-row mean without one) that goes to each prefix token (CLS itself, distillation, registers): (prefix). */
export function prefixShares(att: Tensor, image: number, fusion: HeadFusion, layout: number | TokenLayout): Float32Array {
  const l = layoutOf(layout);
  return Float32Array.from(queryAttentionRow(att, image, fusion, l).subarray(0, l.prefix));
}

/**
 * Attention rollout (Abnar & Zuidema 2020): per layer fuse heads, optionally zero the lowest
 * `discardRatio` share of entries (never the CLS column), add the identity for the residual,
 * renormalize each row, and multiply through the layers. Returns the CLS row over patches (P).
 */
export function rollout(attentions: Tensor[], image: number, fusion: HeadFusion, discardRatio = 0, layout: number | TokenLayout = 1): Float32Array {
  if (!(discardRatio >= 0 && discardRatio < 1)) throw new VitlensError(`--discard-ratio ${discardRatio}: expected a value in [0, 1)`);
  const N = attentions[0].shape[2];
  let result = identity(N);
  for (const att of attentions) {
    const a = fuseHeads(att, image, fusion);
    if (discardRatio > 0) discardLowest(a, N, discardRatio);
    for (let i = 0; i < N; i++) a[i * N + i] += 1;
    normalizeRows(a, N);
    result = matmul(a, result, N);
  }
  return queryRow(result, N, layoutOf(layout));
}

/**
 * Gradient-weighted attention relevance (Chefer et al. 2021, "Transformer Interpretability
 * Beyond Attention Visualization", the attention-gradient rule): per layer
 * cam = mean over heads of max(grad * attention, 0); R <- R + cam @ R, from R = I.
 * Returns the CLS row over patches (P). grads: dL/d(attention) per layer, for the target class.
 */
export function attribution(attentions: Tensor[], grads: Tensor[], image: number, layout: number | TokenLayout = 1): Float32Array {
  const [, H, N] = attentions[0].shape;
  const R = identity(N);
  attentions.forEach((att, l) => {
    const g = grads[l].data;
    const base = image * H * N * N;
    const cam = new Float64Array(N * N);
    for (let h = 0; h < H; h++)
      for (let k = 0; k < N * N; k++) cam[k] += Math.max(att.data[base + h * N * N + k] * g[base + h * N * N + k], 0) / H;
    const update = matmul(cam, R, N);
    for (let k = 0; k < N * N; k++) R[k] += update[k];
  });
  return queryRow(R, N, layoutOf(layout));
}

function identity(N: number): Float64Array {
  const m = new Float64Array(N * N);
  for (let i = 0; i < N; i++) m[i * N + i] = 1;
  return m;
}

function matmul(a: Float64Array, b: Float64Array, N: number): Float64Array {
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < N; k++) {
      const v = a[i * N + k];
      if (v === 0) continue;
      for (let j = 0; j < N; j++) out[i * N + j] += v * b[k * N + j];
    }
  return out;
}

function normalizeRows(a: Float64Array, N: number): void {
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = 0; j < N; j++) s += a[i * N + j];
    for (let j = 0; j < N; j++) a[i * N + j] /= s;
  }
}

/** Zeroes the `ratio` share of smallest entries of the (N, N) map, keeping column 0 (CLS) intact. */
function discardLowest(a: Float64Array, N: number, ratio: number): void {
  const candidates: number[] = [];
  for (let k = 0; k < N * N; k++) if (k % N !== 0) candidates.push(k);
  candidates.sort((x, y) => a[x] - a[y] || x - y);
  const count = Math.floor(N * N * ratio);
  for (let i = 0; i < Math.min(count, candidates.length); i++) a[candidates[i]] = 0;
}

/**
 * DINO's attention threshold (visualize_attention.py): of one head's CLS row over the patches
 * (values already without the prefix tokens), renormalised to sum to 1 and sorted ascending,
 * keep the patches whose cumulative sum exceeds 1 - keep — the smallest set of patches holding
 * `keep` of the mass. Returns a 0/1 mask (P) in patch order.
 */
export function keepMask(row: Float32Array, keep: number): Float32Array {
  if (!(keep > 0 && keep <= 1)) throw new VitlensError(`--keep ${keep}: expected a share in (0, 1]`);
  let total = 0;
  for (const v of row) total += v;
  const order = Array.from(row.keys()).sort((a, b) => row[a] - row[b]); // ascending, as torch.sort
  const mask = new Float32Array(row.length);
  let cum = 0;
  for (const i of order) {
    cum += row[i] / total;
    if (cum > 1 - keep) mask[i] = 1;
  }
  return mask;
}
