import type { Backend } from "../backend/backend.js";
import { generateCaption } from "../caption/decode.js";
import type { AnyCaptioner } from "../caption/evaluate.js";
import { Captioner } from "../caption/captioner.js";
import { TransformersCaptioner } from "../caption/transformers-captioner.js";
import { hfGenerate } from "../caption/hf-generate.js";
import { Rng } from "../random.js";
import { CatrCaptioner } from "../caption/catr-captioner.js";
import { catrGenerate } from "../caption/catr-generate.js";
import type { Tensor } from "../tensor.js";

/** CATR's benchmark image: 299 x 224 (a 19 x 14 feature grid with layer4 dilated). */
export const CATR_BENCH_SIZE: [number, number] = [299, 224];

export interface CaptionerBenchOptions {
  beam: number;
  /** Generated tokens per caption; a Hugging Face captioner ignores EOS so every run makes exactly this many. */
  tokens: number;
  iters: number;
  warmup: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One caption's two phases on one random image: encoding it, and the search from that encoding (EOS / [SEP] ignored so every run makes exactly o.tokens tokens). */
export interface CaptionerPhases {
  encode(be: Backend): unknown;
  search(encoding: unknown, be: Backend): void;
}

export function captionerPhases(cap: AnyCaptioner, o: Pick<CaptionerBenchOptions, "beam" | "tokens">): CaptionerPhases {
  const rng = new Rng(1);
  const random = (shape: number[]): Tensor => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape });
  if (cap instanceof CatrCaptioner) {
    const image = random([3, ...CATR_BENCH_SIZE]);
    return {
      encode: (be) => cap.model.encode([image], be),
      search: (enc, be) => catrGenerate(cap, enc as ReturnType<typeof cap.model.encode>, 0, { beam: o.beam, maxTokens: o.tokens, ignoreEnd: true }, be),
    };
  }
  const c = cap.encoder.config;
  const pixels = random([1, c.numChannels, ...c.imageSize]);
  return {
    encode: (be) => cap.encoder.encode(pixels, be, { attentions: false }).tokens,
    search: (encoding, be) => {
      const enc = encoding as Tensor;
      const N = enc.shape[1];
      if (cap instanceof TransformersCaptioner) {
        hfGenerate(cap, enc.data, N, { ...cap.generation, numBeams: o.beam, maxLength: o.tokens + 1, minLength: 0, eosTokenId: -1, earlyStopping: false }, be);
      } else {
        generateCaption(cap, enc.data, N, { beam: o.beam, maxLength: o.tokens, lengthPenalty: 1 }, be);
      }
    },
  };
}

/** Seconds per caption of one random image: the encoder's forward and the whole search. */
export function benchCaptioner(cap: AnyCaptioner, o: CaptionerBenchOptions, be: Backend, onRun?: (done: number) => void) {
  const phases = captionerPhases(cap, o);
  const split = { encoder: 0, decoder: 0 };
  const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
  const run = () => {
    const t0 = process.hrtime.bigint();
    const enc = phases.encode(be);
    split.encoder = seconds(t0);
    const t1 = process.hrtime.bigint();
    phases.search(enc, be);
    split.decoder = seconds(t1);
  };
  let runs = 0;
  const once = () => {
    run();
    onRun?.(++runs); // after the timed run
    return split.encoder + split.decoder;
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
    beam: o.beam, tokens: o.tokens, eos_ignored: !(cap instanceof Captioner),
  };
}
