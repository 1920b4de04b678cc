import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { VitlensError } from "../errors.js";
import { layernorm } from "../nn/layernorm.js";
import { linear } from "../nn/linear.js";
import type { Captioner } from "./captioner.js";
import { embedTokens, lmHeadWeight } from "./decoder.js";
import { BOS, EOS } from "./vocabulary.js";

export interface DecodeOptions {
  beam: number; // 1: greedy
  maxLength: number; // generated tokens, <eos> included
  /** Hypothesis score = sum of log-probabilities / length^lengthPenalty (as in HF generate). */
  lengthPenalty: number;
}

export interface GeneratedCaption {
  tokens: number[]; // generated word ids, without <bos> / <eos>
  score: number;
  logProb: number;
  /** Per generated word (the <eos> step excluded), per layer: cross-attention (heads, N) of the step that produced it. */
  maps: Float32Array[][];
}

/**
 * Key/value cache for one image's K beams: self-attention keys and values of every position so
 * far (K, H, L, hd) per layer, and the cross-attention keys and values of the image (H, N, hd),
 * computed once. Each step feeds one token per beam: O(t) work instead of a re-run of t tokens.
 */
class DecoderState {
  readonly selfK: Float32Array[];
  readonly selfV: Float32Array[];
  readonly crossK: Float32Array[] = [];
  readonly crossV: Float32Array[] = [];
  readonly N: number;

  constructor(private cap: Captioner, encoded: Float32Array, N: number, readonly K: number, private be: Backend) {
    const c = cap.decoderConfig;
    const D = c.hiddenSize;
    const H = c.numHeads;
    const hd = D / H;
    this.N = N;
    this.selfK = Array.from({ length: c.numLayers }, () => new Float32Array(K * H * c.maxLength * hd));
    this.selfV = Array.from({ length: c.numLayers }, () => new Float32Array(K * H * c.maxLength * hd));
    for (let l = 0; l < c.numLayers; l++) {
      const k = `decoder.layers.${l}.cross_attn.kv`;
      const kv = linear(be, encoded, N, c.encoderHiddenSize, this.p(`${k}.weight`), this.p(`${k}.bias`), 2 * D); // (N, 2, H, hd)
      const heads = new Float32Array(2 * N * D);
      be.splitHeads(kv, heads, 1, N, 2, H, hd); // -> (2, 1, H, N, hd)
      this.crossK.push(heads.subarray(0, N * D));
      this.crossV.push(heads.subarray(N * D));
    }
  }

  private p(name: string): Float32Array {
    return this.cap.decoderParams.get(name)!.data;
  }

  /** Keeps beams `parents` (new beam i continues old beam parents[i]) in the self-attention cache. */
  reorder(parents: number[]): void {
    const c = this.cap.decoderConfig;
    const per = c.numHeads * c.maxLength * (c.hiddenSize / c.numHeads);
    for (const cache of [...this.selfK, ...this.selfV]) {
      const old = cache.slice(0, this.K * per);
      parents.forEach((from, to) => cache.set(old.subarray(from * per, from * per + per), to * per));
    }
  }

  /** Feeds tokens (K) at position t; returns log-probabilities (K, V) and cross-attention per layer (K, H, N). */
  step(tokens: number[], t: number): { logProbs: Float32Array; cross: Float32Array[] } {
    const c = this.cap.decoderConfig;
    const be = this.be;
    const { hiddenSize: D, numHeads: H, mlpSize: M, vocabSize: V, maxLength: L } = c;
    const hd = D / H;
    const K = tokens.length;
    const N = this.N;
    const scale = 1 / Math.sqrt(hd);
    const x = embedTokens(c, this.cap.decoderParams, Int32Array.from(tokens), K, 1, t); // (K, D)
    const normed = new Float32Array(K * D);
    const ctx = new Float32Array(K * D);
    const cross: Float32Array[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const k = `decoder.layers.${l}`;
      layernorm(be, x, K, D, this.p(`${k}.norm1.weight`), this.p(`${k}.norm1.bias`), c.layerNormEps, normed);
      const qkv = linear(be, normed, K, D, this.p(`${k}.self_attn.qkv.weight`), this.p(`${k}.self_attn.qkv.bias`), 3 * D); // (K, 3, H, hd)
      const cacheK = this.selfK[l];
      const cacheV = this.selfV[l];
      for (let b = 0; b < K; b++) {
        for (let h = 0; h < H; h++) {
          const base = ((b * H + h) * L) * hd;
          cacheK.set(qkv.subarray(b * 3 * D + D + h * hd, b * 3 * D + D + (h + 1) * hd), base + t * hd);
          cacheV.set(qkv.subarray(b * 3 * D + 2 * D + h * hd, b * 3 * D + 2 * D + (h + 1) * hd), base + t * hd);
          const q = qkv.subarray(b * 3 * D + h * hd, b * 3 * D + (h + 1) * hd);
          const probs = attendOne(q, cacheK.subarray(base, base + (t + 1) * hd), t + 1, hd, scale);
          weightedSum(probs, cacheV.subarray(base, base + (t + 1) * hd), hd, ctx.subarray(b * D + h * hd, b * D + (h + 1) * hd));
        }
      }
      linear(be, ctx, K, D, this.p(`${k}.self_attn.proj.weight`), this.p(`${k}.self_attn.proj.bias`), D, x, true);

      layernorm(be, x, K, D, this.p(`${k}.norm2.weight`), this.p(`${k}.norm2.bias`), c.layerNormEps, normed);
      const q = linear(be, normed, K, D, this.p(`${k}.cross_attn.q.weight`), this.p(`${k}.cross_attn.q.bias`), D); // (K, H, hd)
      const maps = new Float32Array(K * H * N);
      for (let b = 0; b < K; b++) {
        for (let h = 0; h < H; h++) {
          const probs = attendOne(q.subarray(b * D + h * hd, b * D + (h + 1) * hd), this.crossK[l].subarray(h * N * hd, (h + 1) * N * hd), N, hd, scale);
          maps.set(probs, (b * H + h) * N);
          weightedSum(probs, this.crossV[l].subarray(h * N * hd, (h + 1) * N * hd), hd, ctx.subarray(b * D + h * hd, b * D + (h + 1) * hd));
        }
      }
      cross.push(maps);
      linear(be, ctx, K, D, this.p(`${k}.cross_attn.proj.weight`), this.p(`${k}.cross_attn.proj.bias`), D, x, true);

      layernorm(be, x, K, D, this.p(`${k}.norm3.weight`), this.p(`${k}.norm3.bias`), c.layerNormEps, normed);
      const hidden = linear(be, normed, K, D, this.p(`${k}.mlp.fc1.weight`), this.p(`${k}.mlp.fc1.bias`), M);
      be.geluForward(hidden, hidden, hidden.length);
      linear(be, hidden, K, M, this.p(`${k}.mlp.fc2.weight`), this.p(`${k}.mlp.fc2.bias`), D, x, true);
    }
    layernorm(be, x, K, D, this.p("decoder.norm.weight"), this.p("decoder.norm.bias"), c.layerNormEps, normed);
    const logits = linear(be, normed, K, D, lmHeadWeight(c, this.cap.decoderParams), this.p("decoder.lm_head.bias"), V);
    for (let b = 0; b < K; b++) logSoftmaxInPlace(logits.subarray(b * V, (b + 1) * V));
    return { logProbs: logits, cross };
  }
}

/** softmax(q · keys^T * scale) over n keys of width hd. */
function attendOne(q: Float32Array, keys: Float32Array, n: number, hd: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let d = 0; d < hd; d++) s += q[d] * keys[j * hd + d];
    out[j] = s * scale;
    if (out[j] > max) max = out[j];
  }
  let sum = 0;
  for (let j = 0; j < n; j++) sum += out[j] = Math.exp(out[j] - max);
  for (let j = 0; j < n; j++) out[j] /= sum;
  return out;
}

function weightedSum(probs: Float32Array, values: Float32Array, hd: number, out: Float32Array): void {
  out.fill(0);
  for (let j = 0; j < probs.length; j++) for (let d = 0; d < hd; d++) out[d] += probs[j] * values[j * hd + d];
}

function logSoftmaxInPlace(row: Float32Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  for (let i = 0; i < row.length; i++) row[i] -= logZ;
}

interface Hypothesis { tokens: number[]; logProb: number; maps: Float32Array[][] }

/**
 * Beam search (beam 1 = greedy) for one image's encoder tokens (N, E). Finished hypotheses are
 * ranked by logProb / length^lengthPenalty; the maps follow each hypothesis through the beam
 * reorderings, so the returned maps are the ones of the returned words.
 */
export function generateCaption(cap: Captioner, encoded: Float32Array, N: number, o: DecodeOptions, be: Backend = getBackend()): GeneratedCaption {
  if (!Number.isInteger(o.beam) || o.beam < 1) throw new VitlensError(`--beam ${o.beam}: expected a whole number >= 1 (1 is greedy)`);
  const maxLength = Math.min(o.maxLength, cap.decoderConfig.maxLength);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new VitlensError(`--max-len ${o.maxLength}: expected a whole number >= 1`);
  const K = o.beam;
  const V = cap.decoderConfig.vocabSize;
  const state = new DecoderState(cap, encoded, N, K, be);
  const score = (h: Hypothesis, length: number) => h.logProb / Math.pow(length, o.lengthPenalty);
  let active: Hypothesis[] = [{ tokens: [], logProb: 0, maps: [] }];
  let inputs = [BOS];
  const finished: Array<Hypothesis & { score: number }> = [];
  for (let t = 0; t < maxLength && active.length > 0; t++) {
    // Pad to K rows so the cache layout stays fixed; padded rows are ignored.
    const rows = inputs.concat(new Array(K - inputs.length).fill(BOS));
    const { logProbs, cross } = state.step(rows, t);
    const candidates: Array<{ from: number; token: number; logProb: number }> = [];
    active.forEach((h, b) => {
      for (let v = 0; v < V; v++) candidates.push({ from: b, token: v, logProb: h.logProb + logProbs[b * V + v] });
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Hypothesis[] = [];
    const parents: number[] = [];
    const H = cap.decoderConfig.numHeads;
    for (const cand of candidates) {
      if (next.length >= K) break;
      const parent = active[cand.from];
      const hyp = { tokens: [...parent.tokens, cand.token], logProb: cand.logProb, maps: parent.maps };
      if (cand.token === EOS || t === maxLength - 1) {
        const length = hyp.tokens.length;
        if (cand.token !== EOS) hyp.maps = [...parent.maps, cross.map((m) => m.slice(cand.from * H * N, (cand.from + 1) * H * N))];
        finished.push({ ...hyp, tokens: cand.token === EOS ? parent.tokens : hyp.tokens, score: score(hyp, length) });
        if (finished.length >= K) break;
        continue;
      }
      hyp.maps = [...parent.maps, cross.map((m) => m.slice(cand.from * H * N, (cand.from + 1) * H * N))];
      next.push(hyp);
      parents.push(cand.from);
    }
    if (finished.length >= K) break;
    state.reorder(parents);
    active = next;
    inputs = next.map((h) => h.tokens[h.tokens.length - 1]);
  }
  finished.sort((a, b) => b.score - a.score);
  const best = finished[0];
  return { tokens: best.tokens, score: best.score, logProb: best.logProb, maps: best.maps };
}
