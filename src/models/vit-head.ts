import type { Backend } from "../backend/backend.js";
import { layerGrads, layerWeights } from "../nn/from-params.js";
import { layernorm, layernormBackward, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward } from "../nn/linear.js";
import type { Params, Tensor } from "../tensor.js";
import { headInputSize, type ViTConfig } from "./vit-config.js";
import type { ViTDims } from "./vit-embed.js";

/*
 * What follows the blocks: the final norm (on the tokens, or on the pooled vector: timm's
 * fc_norm, BEiT's pooler.layernorm), pooling (CLS, mean of the patch tokens, mean of every
 * token, DINOv2's [CLS, mean of patches]) and the head(s). One forward, its backward beside it.
 */

/** What the head part of a pass kept (backward reads all of it). */
export interface HeadActs {
  rows: number[]; // the token rows read per image (R of them)
  gathered: Float32Array; // (B*R, D) those rows of the stream (the stream itself when R = N)
  tokenNorm: LayernormOutput | null; // the final norm on those rows
  pooled: Float32Array; // (B, Dh) pooled
  pooledNorm: LayernormOutput | null; // the final norm on the pooled vector
  headIn: Float32Array; // (B, Dh) the head's input: the model's features
  distIn: Float32Array | null; // (B, D) the distillation token after the norm (DeiT's second head)
}

/** The tokens the head reads: CLS (+ the distillation token), the patches, or every token. */
export function headRows(c: ViTConfig, d: Pick<ViTDims, "N" | "prefix">): number[] {
  const all = Array.from({ length: d.N }, (_, i) => i);
  switch (c.pool ?? "cls") {
    case "cls": return c.distillationHead ? [0, 1] : [0];
    case "avg": return all.slice(d.prefix);
    case "avg-all": return all;
    case "cls+avg": return [0, ...all.slice(d.prefix)];
  }
}

/** The head's input (B, Dh) and the logits (B, classes) or null for a backbone, from the stream after the blocks (B*N, D). */
export function headForward(be: Backend, c: ViTConfig, params: Params, stream: Float32Array, d: ViTDims): { acts: HeadActs; logits: Tensor | null } {
  const { B, D, N } = d;
  const W = layerWeights(params, c.layerNormEps);
  const rows = headRows(c, d);
  const R = rows.length;
  const gathered = R === N ? stream : new Float32Array(B * R * D); // (B*R, D)
  if (R !== N) for (let b = 0; b < B; b++) rows.forEach((t, r) => gathered.set(stream.subarray((b * N + t) * D, (b * N + t + 1) * D), (b * R + r) * D));
  const finalNorm = c.finalNorm ?? "tokens";
  const tokenNorm = finalNorm === "tokens" || finalNorm === "both" ? layernorm(be, W.norm("norm"), gathered, B * R) : null;
  const tokens = tokenNorm ? tokenNorm.out : gathered;
  const pooled = pool(c, tokens, B, R, D); // (B, Dh)
  const pooledNorm = finalNorm === "pooled" || finalNorm === "both" ? layernorm(be, W.norm("fc_norm"), pooled, B) : null;
  const headIn = pooledNorm ? pooledNorm.out : pooled;
  let distIn: Float32Array | null = null;
  let logits: Tensor | null = null;
  if (c.numClasses > 0) {
    const out = linear(be, W.linear("head"), headIn, B); // (B, classes)
    if (c.distillationHead) {
      // DeiT at inference: the mean of the CLS head and the distillation head
      distIn = new Float32Array(B * D);
      for (let b = 0; b < B; b++) distIn.set(tokens.subarray((b * R + 1) * D, (b * R + 2) * D), b * D);
      const dist = linear(be, W.linear("head_dist"), distIn, B);
      for (let i = 0; i < out.length; i++) out[i] = (out[i] + dist[i]) / 2;
    }
    logits = { data: out, shape: [B, c.numClasses] };
  }
  return { acts: { rows, gathered, tokenNorm, pooled, pooledNorm, headIn, distIn }, logits };
}

/** (B, Dh) from the R read rows of each image: CLS is row 0 of them; every pool but "cls" averages rows it lists. */
function pool(c: ViTConfig, tokens: Float32Array, B: number, R: number, D: number): Float32Array {
  const kind = c.pool ?? "cls";
  const Dh = headInputSize(c);
  const out = new Float32Array(B * Dh);
  for (let b = 0; b < B; b++) {
    const img = tokens.subarray(b * R * D, (b + 1) * R * D);
    if (kind === "cls" || kind === "cls+avg") out.set(img.subarray(0, D), b * Dh);
    if (kind === "cls") continue;
    const first = kind === "cls+avg" ? 1 : 0; // the rows averaged
    const mean = out.subarray(b * Dh + Dh - D, (b + 1) * Dh);
    for (let r = first; r < R; r++) for (let j = 0; j < D; j++) mean[j] += img[r * D + j];
    for (let j = 0; j < D; j++) mean[j] /= R - first;
  }
  return out;
}

/**
 * Backward from dL/dlogits (B, classes), or from dL/d(head input) (B, Dh) for a backbone's
 * features: parameter gradients added into `grads`; returns dL/d(stream) (B*N, D), zero on the
 * rows the head never read.
 */
export function headBackward(
  be: Backend, c: ViTConfig, params: Params, grads: Params, acts: HeadActs, dlogits: Float32Array, d: ViTDims, dstream: Float32Array,
): void {
  const { B, D } = d;
  const W = layerWeights(params, c.layerNormEps);
  const G = layerGrads(grads);
  const { rows } = acts;
  const R = rows.length;
  const Dh = headInputSize(c);
  const dy = c.distillationHead ? dlogits.map((v) => v / 2) : dlogits; // each head gets half of the mean's gradient
  const dheadIn = new Float32Array(B * Dh);
  linearBackward(be, W.linear("head"), G.linear("head"), { x: acts.headIn, rows: B, dy, dx: dheadIn });
  let dpooled = dheadIn;
  if (acts.pooledNorm) {
    dpooled = new Float32Array(B * Dh);
    layernormBackward(be, W.norm("fc_norm"), G.norm("fc_norm"), { x: acts.pooled, saved: acts.pooledNorm, dout: dheadIn, dx: dpooled, rows: B });
  }
  const dtokens = new Float32Array(B * R * D); // dL/d(read rows after the token norm)
  const kind = c.pool ?? "cls";
  for (let b = 0; b < B; b++) {
    const g = dpooled.subarray(b * Dh, (b + 1) * Dh);
    const img = dtokens.subarray(b * R * D, (b + 1) * R * D);
    if (kind === "cls" || kind === "cls+avg") img.set(g.subarray(0, D));
    if (kind === "cls") continue;
    const first = kind === "cls+avg" ? 1 : 0;
    const gm = g.subarray(Dh - D);
    for (let r = first; r < R; r++) for (let j = 0; j < D; j++) img[r * D + j] += gm[j] / (R - first);
  }
  if (acts.distIn) {
    const ddist = new Float32Array(B * D);
    linearBackward(be, W.linear("head_dist"), G.linear("head_dist"), { x: acts.distIn, rows: B, dy, dx: ddist });
    for (let b = 0; b < B; b++) for (let j = 0; j < D; j++) dtokens[(b * R + 1) * D + j] += ddist[b * D + j];
  }
  tokensBackward(be, c, W, G, acts, dtokens, d, dstream);
}

/** Through the token norm (if any) and back into the stream's rows: dstream (B*N, D) written whole. */
function tokensBackward(
  be: Backend, c: ViTConfig, W: ReturnType<typeof layerWeights>, G: ReturnType<typeof layerGrads>, acts: HeadActs, dtokens: Float32Array, d: ViTDims, dstream: Float32Array,
): void {
  const { B, D, N } = d;
  const R = acts.rows.length;
  let dgathered = dtokens;
  if (acts.tokenNorm) {
    dgathered = R === N ? dstream : new Float32Array(B * R * D);
    layernormBackward(be, W.norm("norm"), G.norm("norm"), { x: acts.gathered, saved: acts.tokenNorm, dout: dtokens, dx: dgathered, rows: B * R });
  }
  if (R === N) {
    if (dgathered !== dstream) dstream.set(dgathered);
    return;
  }
  dstream.fill(0);
  for (let b = 0; b < B; b++) acts.rows.forEach((t, r) => dstream.set(dgathered.subarray((b * R + r) * D, (b * R + r + 1) * D), (b * N + t) * D));
}

/** Every token after the final token norm (B, N, D): a captioner's memory. The norm's output, or the stream itself without one. */
export function tokensForward(be: Backend, c: ViTConfig, params: Params, stream: Float32Array, d: ViTDims): HeadActs {
  const { B, N } = d;
  const rows = Array.from({ length: N }, (_, i) => i);
  const tokenNorm = ["tokens", "both"].includes(c.finalNorm ?? "tokens") ? layernorm(be, layerWeights(params, c.layerNormEps).norm("norm"), stream, B * N) : null;
  const out = tokenNorm ? tokenNorm.out : stream;
  return { rows, gathered: stream, tokenNorm, pooled: out, pooledNorm: null, headIn: out, distIn: null };
}

/** Backward of `tokensForward` from dL/d(tokens) (B*N, D) into dstream. */
export function tokensBackwardFrom(be: Backend, c: ViTConfig, params: Params, grads: Params, acts: HeadActs, dtokens: Float32Array, d: ViTDims, dstream: Float32Array): void {
  tokensBackward(be, c, layerWeights(params, c.layerNormEps), layerGrads(grads), acts, dtokens, d, dstream);
}
