import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { VitlensError } from "../errors.js";
import type { CrossKV } from "../nn/cross-attention.js";
import { reorderRows } from "../nn/reorder-rows.js";
import type { KVCache } from "../nn/self-attention.js";
import type { Captioner } from "./captioner.js";
import type { DecoderConfig } from "./decoder-config.js";
import type { Params } from "../tensor.js";

/** What decoding reads of a captioner: the decoder's config and weights. */
export interface DecoderWeights {
  decoderConfig: DecoderConfig;
  decoderParams: Params;
}
import { decoderPass, memoryKeysValues, type DecoderPass } from "./decoder.js";
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
 * far (K, H, L, hd) per layer, and the cross-attention keys and values of the image, computed
 * once. Each step feeds one token per beam through `decoderPass`, the same forward teacher
 * forcing runs: O(L) work per step instead of a re-run of t tokens.
 */
export class DecoderState {
  readonly self: KVCache[];
  readonly memory: CrossKV[];
  private last?: DecoderPass; // the previous step's pass, whose buffers the next one reuses

  /** `capacity`: positions the cache holds (the model's maximum when omitted): the most steps a search takes. */
  constructor(private cap: DecoderWeights, encoded: Float32Array, N: number, readonly K: number, private be: Backend, capacity?: number) {
    const c = cap.decoderConfig;
    const L = Math.min(capacity ?? c.maxLength, c.maxLength);
    const size = K * c.hiddenSize * L; // (K, H, L, hd)
    this.self = Array.from({ length: c.numLayers }, () => ({ k: new Float32Array(size), v: new Float32Array(size), capacity: L }));
    // Every beam attends to the same image: its keys and values projected once and shared by
    // the K rows, so a step reads them once rather than once per beam.
    this.memory = memoryKeysValues(be, c, cap.decoderParams, encoded, 1, N);
  }

  /** Keeps beams `parents` (new beam i continues old beam parents[i]) in the self-attention cache. */
  reorder(parents: number[]): void {
    reorderRows(this.self.flatMap((kv) => [kv.k, kv.v]), parents, this.K);
  }

  /**
   * Feeds tokens (K) at position t; returns next-token logits (K, V) and cross-attention per layer
   * (K, H, N), both overwritten by the next step (each step reuses the last one's buffers).
   */
  logits(tokens: number[], t: number): { logits: Float32Array; cross: Float32Array[] } {
    const c = this.cap.decoderConfig;
    const pass = decoderPass(this.be, c, this.cap.decoderParams, Int32Array.from(tokens), { B: this.K, T: 1 }, this.memory, {
      keep: false, cache: { kv: this.self, start: t }, reuse: this.last,
    });
    this.last = pass;
    return { logits: pass.logits, cross: pass.crossAttentions };
  }

  /** `logits` as log-probabilities (in place). */
  step(tokens: number[], t: number): { logProbs: Float32Array; cross: Float32Array[] } {
    const { logits, cross } = this.logits(tokens, t);
    this.logSoftmax(logits);
    return { logProbs: logits, cross };
  }

  logSoftmax(rows: Float32Array): void {
    const V = this.cap.decoderConfig.vocabSize;
    this.be.logSoftmaxForward(rows, rows, rows.length / V, V);
  }
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
