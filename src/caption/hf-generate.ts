import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { VitlensError } from "../errors.js";
import { DecoderState, type DecoderWeights } from "./decode.js";
import type { GenerationSettings } from "./generation-config.js";

/**
 * Generation with transformers' semantics (generation/utils.py: greedy decoding and the beam search
 * of transformers 5, which gives the same sequences as 4.36's BeamSearchScorer on every fixture
 * written with either), on vitlens' KV-cache decoder:
 * - ids start with the decoder start token and an optional prompt (BLIP's), max_length counts
 *   both; EOS ends a sequence;
 * - logits processors in generate's order: repetition_penalty, no_repeat_ngram_size, min_length
 *   (greedy applies them to the logits, beam search to the log-probabilities);
 * - beam search: see beamSearch.
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
  /** Tokens after the start token that every sequence begins with (BLIP's prompt), fed before the search chooses any. */
  prompt?: number[];
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

export function hfGenerate(model: HfGenerateModel, encoded: Float32Array, N: number, g: GenerationSettings, be: Backend = getBackend(), prompt: number[] = []): HfGenerated {
  return generateWith({
    startToken: model.startToken, prompt, vocabSize: model.decoderConfig.vocabSize, positions: model.decoderConfig.maxLength,
    open: (K, capacity) => new DecoderState(model, encoded, N, K, be, capacity),
  }, g);
}

/**
 * The start token and the prompt fed through a fresh cache of K rows: returns the ids so far and
 * the maps of the prompt's tokens (each from the step that predicted it, as a generated token's).
 */
function prefill(model: SearchModel, state: SearchState, K: number): { ids: number[]; maps: Float32Array[][] } {
  const ids = [model.startToken, ...(model.prompt ?? [])];
  const maps: Float32Array[][] = [];
  for (let t = 0; t < ids.length - 1; t++) {
    const { cross } = state.logits(new Array<number>(K).fill(ids[t]), t);
    maps.push(sliceRow(cross, 0, K));
  }
  return { ids, maps };
}

/** transformers' greedy / beam search on any decoder's cache. */
export function generateWith(model: SearchModel, g: GenerationSettings): HfGenerated {
  if (!Number.isInteger(g.numBeams) || g.numBeams < 1) throw new VitlensError(`num_beams ${g.numBeams}: expected a whole number >= 1`);
  if (!Number.isInteger(g.maxLength) || g.maxLength < 2) throw new VitlensError(`max_length ${g.maxLength}: expected at least 2 (the start token and one generated token)`);
  const positions = model.positions;
  if (g.maxLength - 1 > positions) throw new VitlensError(`max_length ${g.maxLength}: the decoder has ${positions} positions (at most ${positions} tokens generated)`);
  if (g.maxLength <= 1 + (model.prompt?.length ?? 0)) throw new VitlensError(`max_length ${g.maxLength}: no room to generate after the start token and a ${model.prompt?.length}-token prompt`);
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
  const { ids, maps } = prefill(model, state, 1);
  const P = ids.length; // the prompt's length, start token included: what max_length counts beyond
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
  return { ids, score: logProb / Math.pow(ids.length - P, g.lengthPenalty), maps };
}

interface Beam { ids: number[]; maps: Float32Array[][]; score: number }

/**
 * transformers 5's beam search (generation/utils.py _beam_search): per step the top 2K candidates
 * of every running beam's processed log-probabilities plus its score; a candidate ending in EOS
 * or reaching max_length is finished when it ranks among the first K (score / generated_len^lp,
 * generated_len counting from the prompt's end, EOS included), the K best finished kept; the K
 * best unfinished candidates run on. It stops when no running beam can beat the worst finished
 * one (the early-stopping heuristic: at the current length, or max_length with "never" and lp > 0),
 * when every finished slot is filled and early_stopping is true, or when every candidate finished.
 */
function beamSearch(model: SearchModel, g: GenerationSettings): HfGenerated {
  const K = g.numBeams;
  const V = model.vocabSize;
  const lp = g.lengthPenalty;
  const state = model.open(K, g.maxLength - 1);
  const start = prefill(model, state, K);
  const P = start.ids.length;
  let running: Beam[] = Array.from({ length: K }, (_, k) => ({ ids: start.ids, maps: start.maps, score: k === 0 ? 0 : -1e9 }));
  let finished: Beam[] = Array.from({ length: K }, () => ({ ids: [], maps: [], score: -1e9 }));
  const filled = () => finished.every((b) => b.ids.length > 0);
  let improvable = true;
  for (let len = P; ; len++) {
    const { logProbs, cross } = state.step(running.map((b) => b.ids[b.ids.length - 1]), len - 1);
    const top = topCandidates(logProbs, running, g, 2 * K, V);
    const hits = top.map((c) => c.token === g.eosTokenId || len + 1 >= g.maxLength);
    // the K best candidates that did not finish run on
    const next = top.map((c, i) => ({ c, score: c.score + (hits[i] ? -1e9 : 0) })).sort((a, b) => b.score - a.score).slice(0, K);
    // the finished among the first K candidates join the K best finished hypotheses
    const blocked = (filled() && g.earlyStopping === true) || !improvable;
    const candidates = top.flatMap((c, i) => (hits[i] && i < K && !blocked
      ? [{ ids: [...running[c.from].ids, c.token], maps: c.token === g.eosTokenId ? running[c.from].maps : [...running[c.from].maps, sliceRow(cross, c.from, K)], score: c.score / Math.pow(len + 1 - P, lp) }]
      : []));
    finished = [...finished, ...candidates].map((b, i) => [b, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).slice(0, K).map(([b]) => b);
    state.reorder(next.map((n) => n.c.from));
    running = next.map((n) => ({ ids: [...running[n.c.from].ids, n.c.token], maps: [...running[n.c.from].maps, sliceRow(cross, n.c.from, K)], score: n.score }));
    const best = running[0].score / Math.pow((g.earlyStopping === "never" && lp > 0 ? g.maxLength : len + 1) - P, lp);
    improvable = improvable && (!filled() || best > Math.min(...finished.map((b) => b.score)));
    if (!improvable || (filled() && g.earlyStopping === true) || hits.every(Boolean)) break;
  }
  const best = finished[0];
  return { ids: best.ids, score: best.score, maps: best.maps };
}

/** The `count` best (beam, token) continuations by running score + processed log-probability, best first (ties: lower index first, as torch.topk). */
function topCandidates(logProbs: Float32Array, running: Beam[], g: GenerationSettings, count: number, V: number): Array<{ from: number; token: number; score: number }> {
  const top: Array<{ score: number; index: number }> = [];
  running.forEach((beam, k) => {
    const row = logProbs.subarray(k * V, (k + 1) * V);
    processScores(row, beam.ids, g);
    for (let v = 0; v < V; v++) {
      const score = row[v] + beam.score;
      if (top.length === count && score <= top[top.length - 1].score) continue;
      let at = top.length;
      while (at > 0 && top[at - 1].score < score) at--;
      top.splice(at, 0, { score, index: k * V + v });
      if (top.length > count) top.pop();
    }
  });
  return top.map((c) => ({ from: Math.floor(c.index / V), token: c.index % V, score: c.score }));
}
