import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { VitlensError } from "../errors.js";
import { DecoderState, type DecoderWeights } from "./decode.js";
import type { GenerationSettings } from "./generation-config.js";

/**
 * Generation with transformers 4.36's semantics (generation/utils.py greedy_search and
 * beam_search, beam_search.py BeamSearchScorer / BeamHypotheses), on vitlens' KV-cache decoder:
 * - ids start with the decoder start token; max_length counts it; EOS ends a sequence;
 * - logits processors in generate's order: repetition_penalty, no_repeat_ngram_size, min_length
 *   (greedy applies them to the logits, beam search to the log-probabilities);
 * - beam search: beams other than the first start at -1e9, the top 2K candidates per step, an EOS
 *   candidate ranked below K is dropped, finished hypotheses scored sum / generated_len^length_penalty
 *   with generated_len the tokens after the start token (the EOS counted), early_stopping
 *   true / false / "never" as BeamHypotheses.is_done.
 */
export interface HfGenerated {
  ids: number[]; // as HF returns them: start token, generated tokens, EOS when it fits
  /** Beam search: HF's sequence score; greedy: the same formula over the chosen tokens' log-probabilities. */
  score: number;
  /** Per generated token (start and EOS excluded), per decoder layer: its cross-attention (heads, N). */
  maps: Float32Array[][];
}

export interface HfGenerateModel extends DecoderWeights {
  startToken: number;
}

/**
 * What a search steps through: a decoder's KV cache for K rows (DecoderState, CATR's decoder).
 * A step's logits, log-probabilities and cross-attentions may be overwritten by the next step:
 * the search copies what it keeps.
 */
export interface SearchState {
  logits(tokens: number[], t: number): { logits: Float32Array; cross: Float32Array[] };
  step(tokens: number[], t: number): { logProbs: Float32Array; cross: Float32Array[] };
  /** Rows of logits (rows, V) replaced by their log-probabilities, on the state's backend. */
  logSoftmax(rows: Float32Array): void;
  reorder(parents: number[]): void;
}

/** A decoder as the search sees it: its start token, vocabulary, positions, and a cache of K rows for `capacity` positions. */
export interface SearchModel {
  startToken: number;
  vocabSize: number;
  positions: number;
  open(K: number, capacity: number): SearchState;
}

/** Repetition penalty, no-repeat n-grams, minimum length on one row of scores (V), in HF's order. */
export function processScores(scores: Float32Array, ids: number[], g: GenerationSettings): void {
  if (g.repetitionPenalty !== 1) {
    for (const id of new Set(ids)) scores[id] = scores[id] < 0 ? scores[id] * g.repetitionPenalty : scores[id] / g.repetitionPenalty;
  }
  const n = g.noRepeatNgramSize;
  if (n > 0 && ids.length + 1 >= n) {
    const prefix = ids.slice(ids.length + 1 - n).join(",");
    for (let i = 0; i + n <= ids.length; i++) {
      if (ids.slice(i, i + n - 1).join(",") === prefix) scores[ids[i + n - 1]] = -Infinity;
    }
  }
  if (g.minLength > 0 && ids.length < g.minLength && g.eosTokenId !== null) scores[g.eosTokenId] = -Infinity;
}

export function hfGenerate(model: HfGenerateModel, encoded: Float32Array, N: number, g: GenerationSettings, be: Backend = getBackend()): HfGenerated {
  return generateWith({
    startToken: model.startToken, vocabSize: model.decoderConfig.vocabSize, positions: model.decoderConfig.maxLength,
    open: (K, capacity) => new DecoderState(model, encoded, N, K, be, capacity),
  }, g);
}

/** HF 4.36 greedy / beam search on any decoder's cache. */
export function generateWith(model: SearchModel, g: GenerationSettings): HfGenerated {
  if (!Number.isInteger(g.numBeams) || g.numBeams < 1) throw new VitlensError(`num_beams ${g.numBeams}: expected a whole number >= 1`);
  if (!Number.isInteger(g.maxLength) || g.maxLength < 2) throw new VitlensError(`max_length ${g.maxLength}: expected at least 2 (the start token and one generated token)`);
  const positions = model.positions;
  if (g.maxLength - 1 > positions) throw new VitlensError(`max_length ${g.maxLength}: the decoder has ${positions} positions (at most ${positions} tokens generated)`);
  return g.numBeams === 1 ? greedy(model, g) : beamSearch(model, g);
}

function sliceRow(cross: Float32Array[], row: number, K: number): Float32Array[] {
  return cross.map((m) => {
    const per = m.length / K;
    return m.slice(row * per, (row + 1) * per);
  });
}

function greedy(model: SearchModel, g: GenerationSettings): HfGenerated {
  const V = model.vocabSize;
  const state = model.open(1, g.maxLength - 1);
  const ids = [model.startToken];
  const maps: Float32Array[][] = [];
  let logProb = 0;
  while (ids.length < g.maxLength) {
    const { logits, cross } = state.logits([ids[ids.length - 1]], ids.length - 1);
    const raw = logits.slice();
    processScores(logits, ids, g);
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v; // torch.argmax: the first maximum
    state.logSoftmax(raw);
    logProb += raw[best];
    ids.push(best);
    if (best === g.eosTokenId) break;
    maps.push(sliceRow(cross, 0, 1));
  }
  return { ids, score: logProb / Math.pow(ids.length - 1, g.lengthPenalty), maps };
}

interface Finished { score: number; ids: number[]; maps: Float32Array[][] }

/** BeamHypotheses: the K best finished hypotheses and the worst score among them. */
class Hypotheses {
  readonly beams: Finished[] = [];
  worst = 1e9;

  constructor(private K: number, private g: GenerationSettings) {}

  add(ids: number[], sumLogProbs: number, generatedLen: number, maps: Float32Array[][]): void {
    const score = sumLogProbs / Math.pow(generatedLen, this.g.lengthPenalty);
    if (this.beams.length < this.K || score > this.worst) {
      this.beams.push({ score, ids, maps });
      if (this.beams.length > this.K) {
        const ranked = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(ranked[0][1], 1);
        this.worst = ranked[1][0];
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  isDone(bestSumLogProbs: number, curLen: number): boolean {
    if (this.beams.length < this.K) return false;
    if (this.g.earlyStopping === true) return true;
    const lp = this.g.lengthPenalty;
    const len = this.g.earlyStopping === "never" && lp > 0 ? this.g.maxLength - 1 : curLen - 1;
    return this.worst >= bestSumLogProbs / Math.pow(len, lp);
  }
}

function beamSearch(model: SearchModel, g: GenerationSettings): HfGenerated {
  const K = g.numBeams;
  const V = model.vocabSize;
  const state = model.open(K, g.maxLength - 1);
  let beams = Array.from({ length: K }, () => ({ ids: [model.startToken], maps: [] as Float32Array[][] }));
  let beamScores: number[] = Array.from({ length: K }, (_, k) => (k === 0 ? 0 : -1e9));
  const hyps = new Hypotheses(K, g);
  let done = false;
  for (;;) {
    const t = beams[0].ids.length - 1;
    const { logProbs, cross } = state.step(beams.map((b) => b.ids[b.ids.length - 1]), t);
    // The top 2K of every beam's processed log-probabilities plus its score, best first.
    const top: Array<{ score: number; index: number }> = [];
    for (let k = 0; k < K; k++) {
      const row = logProbs.subarray(k * V, (k + 1) * V);
      processScores(row, beams[k].ids, g);
      for (let v = 0; v < V; v++) {
        const score = row[v] + beamScores[k];
        if (top.length === 2 * K && score <= top[top.length - 1].score) continue;
        let at = top.length;
        while (at > 0 && top[at - 1].score < score) at--;
        top.splice(at, 0, { score, index: k * V + v });
        if (top.length > 2 * K) top.pop();
      }
    }
    const curLen = beams[0].ids.length + 1;
    const next: Array<{ from: number; token: number; score: number }> = [];
    for (const [rank, c] of top.entries()) {
      const from = Math.floor(c.index / V);
      const token = c.index % V;
      if (token === g.eosTokenId) {
        if (rank >= K) continue;
        hyps.add(beams[from].ids, c.score, curLen - 1, beams[from].maps);
      } else {
        next.push({ from, token, score: c.score });
      }
      if (next.length === K) break;
    }
    done = done || hyps.isDone(top[0].score, curLen);
    state.reorder(next.map((n) => n.from));
    beams = next.map((n) => ({ ids: [...beams[n.from].ids, n.token], maps: [...beams[n.from].maps, sliceRow(cross, n.from, K)] }));
    beamScores = next.map((n) => n.score);
    if (done || beams[0].ids.length >= g.maxLength) break;
  }
  if (!done) beams.forEach((b, k) => hyps.add(b.ids, beamScores[k], b.ids.length - 1, b.maps));
  // sorted by score, the last of the best (Python's stable sort, then pop())
  const best = hyps.beams.map((b, i) => [b, i] as const).sort((a, b) => a[0].score - b[0].score || a[1] - b[1]).pop()![0];
  const ids = best.ids.length < g.maxLength ? [...best.ids, g.eosTokenId!] : best.ids;
  return { ids, score: best.score, maps: best.maps };
}
