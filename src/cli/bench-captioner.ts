import type { Backend } from "../backend/backend.js";
import { generateCaption } from "../caption/decode.js";
import type { AnyCaptioner } from "../caption/evaluate.js";
import { HfCaptioner } from "../caption/hf-captioner.js";
import { hfGenerate } from "../caption/hf-generate.js";
import { Rng } from "../random.js";

export interface CaptionerBenchOptions {
  beam: number;
  /** Generated tokens per caption; a Hugging Face captioner ignores EOS so every run makes exactly this many. */
  tokens: number;
  iters: number;
  warmup: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Seconds per caption of one random image: the encoder's forward and the whole search. */
export function benchCaptioner(cap: AnyCaptioner, o: CaptionerBenchOptions, be: Backend) {
  const c = cap.encoder.config;
  const rng = new Rng(1);
  const pixels = { data: Float32Array.from({ length: c.numChannels * c.imageSize[0] * c.imageSize[1] }, () => rng.normal()), shape: [1, c.numChannels, ...c.imageSize] };
  const split = { encoder: 0, decoder: 0 };
  const once = () => {
    const t0 = process.hrtime.bigint();
    const enc = cap.encoder.encode(pixels, be).tokens;
    const t1 = process.hrtime.bigint();
    const N = enc.shape[1];
    if (cap instanceof HfCaptioner) {
      hfGenerate(cap, enc.data, N, { ...cap.generation, numBeams: o.beam, maxLength: o.tokens + 1, minLength: 0, eosTokenId: -1, earlyStopping: false }, be);
    } else {
      generateCaption(cap, enc.data, N, { beam: o.beam, maxLength: o.tokens, lengthPenalty: 1 }, be);
    }
    const t2 = process.hrtime.bigint();
    split.encoder = Number(t1 - t0) / 1e9;
    split.decoder = Number(t2 - t1) / 1e9;
    return Number(t2 - t0) / 1e9;
  };
  for (let i = 0; i < o.warmup; i++) once();
  const times: number[] = [];
  const encoder: number[] = [];
  const decoder: number[] = [];
  for (let i = 0; i < o.iters; i++) {
    times.push(once());
    encoder.push(split.encoder);
    decoder.push(split.decoder);
  }
  return {
    caption_s: median(times), caption_min_s: Math.min(...times), encoder_s: median(encoder), search_s: median(decoder),
    beam: o.beam, tokens: o.tokens, eos_ignored: cap instanceof HfCaptioner,
  };
}
