import type { Backend } from "../backend/backend.js";
import type { CatrEncoded } from "../models/catr.js";
import type { CatrCaptioner } from "./catr-captioner.js";
import { HF_DEFAULTS, type GenerationSettings } from "./generation-config.js";
import { generateWith, type HfGenerated } from "./hf-generate.js";

export interface CatrDecodeOptions {
  /** 1 (default): CATR's greedy loop; more: transformers' beam search on the same cache. */
  beam?: number;
  /** Most generated tokens ([SEP] included); CATR's own limit is max_position_embeddings - 1. */
  maxTokens?: number;
  lengthPenalty?: number;
  /** Never stop at [SEP] (benchmarks: exactly maxTokens tokens). */
  ignoreEnd?: boolean;
}

/**
 * CATR's predict.py as generation settings: start at [CLS], argmax at each position, stop at
 * [SEP] or after max_position_embeddings - 1 tokens (its loop's range). That is HF's greedy search
 * with max_length = max_position_embeddings; beam search reuses the same settings.
 */
export function catrGenerationSettings(cap: CatrCaptioner, o: CatrDecodeOptions = {}): GenerationSettings {
  const positions = cap.model.config.maxPositions;
  return {
    ...HF_DEFAULTS,
    maxLength: Math.min(positions, (o.maxTokens ?? positions - 1) + 1),
    numBeams: o.beam ?? 1,
    lengthPenalty: o.lengthPenalty ?? 1,
    decoderStartTokenId: cap.startToken,
    eosTokenId: o.ignoreEnd ? -1 : cap.endToken,
    padTokenId: 0,
  };
}

/** Generates for image `image` of an encoded batch: the image's keys and values projected once, then one cached step per token. */
export function catrGenerate(cap: CatrCaptioner, encoded: CatrEncoded, image: number, o: CatrDecodeOptions, be: Backend): HfGenerated {
  const c = cap.model.config;
  return generateWith({
    startToken: cap.startToken, vocabSize: c.vocabSize, positions: c.maxPositions,
    open: (K, capacity) => cap.model.decoder(encoded, new Array<number>(K).fill(image), be, capacity),
  }, catrGenerationSettings(cap, o));
}
