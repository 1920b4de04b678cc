import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../io/read-json.js";

/** The generation settings vitlens runs, with transformers 4.36's GenerationConfig names and defaults. */
export interface GenerationSettings {
  maxLength: number; // counts the decoder start token, as in HF
  /** max_new_tokens: when set, it decides the length (max_length is then ignored, as in transformers) */
  maxNewTokens: number | null;
  minLength: number;
  numBeams: number;
  earlyStopping: boolean | "never";
  lengthPenalty: number;
  noRepeatNgramSize: number;
  repetitionPenalty: number;
  decoderStartTokenId: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
}

export const HF_DEFAULTS: GenerationSettings = {
  maxLength: 20, maxNewTokens: null, minLength: 0, numBeams: 1, earlyStopping: false, lengthPenalty: 1, noRepeatNgramSize: 0, repetitionPenalty: 1,
  decoderStartTokenId: null, bosTokenId: null, eosTokenId: null, padTokenId: null,
};

const FIELDS: Record<string, keyof GenerationSettings> = {
  max_length: "maxLength", max_new_tokens: "maxNewTokens", min_length: "minLength", num_beams: "numBeams", early_stopping: "earlyStopping", length_penalty: "lengthPenalty",
  no_repeat_ngram_size: "noRepeatNgramSize", repetition_penalty: "repetitionPenalty", decoder_start_token_id: "decoderStartTokenId",
  bos_token_id: "bosTokenId", eos_token_id: "eosTokenId", pad_token_id: "padTokenId",
};

/** GenerationConfig fields vitlens does not implement, with the value that means "off" (a differing value is warned about). */
const UNSUPPORTED: Record<string, unknown> = {
  do_sample: false, num_beam_groups: 1, diversity_penalty: 0, penalty_alpha: null, bad_words_ids: null, force_words_ids: null,
  forced_bos_token_id: null, forced_eos_token_id: null, encoder_no_repeat_ngram_size: 0, encoder_repetition_penalty: 1,
  min_new_tokens: null, suppress_tokens: null, begin_suppress_tokens: null, forced_decoder_ids: null,
  exponential_decay_length_penalty: null, sequence_bias: null, num_return_sequences: 1, constraints: null, guidance_scale: null,
  renormalize_logits: false, remove_invalid_values: false,
};

function readFields(json: Record<string, unknown>, into: Partial<GenerationSettings>, onlyUnset = false): void {
  for (const [hf, name] of Object.entries(FIELDS)) {
    let v = json[hf];
    if (v === undefined || (onlyUnset && into[name] !== undefined)) continue;
    if (Array.isArray(v) && (hf === "eos_token_id")) v = v[0]; // several EOS ids: the first (vitlens stops on one)
    (into as Record<string, unknown>)[name] = v;
  }
}

/**
 * Generation settings as transformers 4.36 finds them: generation_config.json when present,
 * else the generation fields of config.json (those unset at the top taken from its decoder),
 * else HF's defaults. Never a model card's suggestions. Returns the fields vitlens does not
 * implement alongside, for one warning.
 */
export function readGenerationSettings(dir: string, config: Record<string, unknown>): { settings: GenerationSettings; unsupported: string[]; source: string; maxLengthSet: boolean } {
  const path = join(dir, "generation_config.json");
  const found: Partial<GenerationSettings> = {};
  let source: string;
  let json: Record<string, unknown>;
  if (existsSync(path)) {
    json = readJson(path);
    readFields(json, found);
    source = path;
  } else {
    json = config;
    readFields(config, found);
    const decoder = config.decoder as Record<string, unknown> | undefined;
    if (decoder) readFields(decoder, found, true);
    source = join(dir, "config.json");
  }
  const unsupported = Object.entries(UNSUPPORTED)
    .filter(([k, off]) => json[k] !== undefined && JSON.stringify(json[k]) !== JSON.stringify(off) && !(off === null && isEmpty(json[k])))
    .map(([k]) => `${k}=${JSON.stringify(json[k])}`);
  const settings = { ...HF_DEFAULTS, ...Object.fromEntries(Object.entries(found).filter(([, v]) => v !== null && v !== undefined)) } as GenerationSettings;
  if (json.early_stopping === "never") settings.earlyStopping = "never";
  if (settings.padTokenId === null) settings.padTokenId = settings.eosTokenId; // HF: pad = eos, with a warning
  // transformers 5 builds a model's generation config from config.json's non-default fields only:
  // a max_length of 20 there (PretrainedConfig's generic default, serialized by old versions) is unset
  const maxLengthSet = found.maxLength !== undefined && found.maxLength !== null && (source === path || found.maxLength !== HF_DEFAULTS.maxLength);
  return { settings, unsupported, source, maxLengthSet };
}

/**
 * The max_length a generate() call runs to, as transformers 5's _prepare_generated_length sets it:
 * `inputLength` tokens fed (the start token, a prompt) plus max_new_tokens (--max-len, else the
 * settings'), else the max_length a file set, else 20 new tokens (at most `positions`).
 */
export function generatedLength(g: GenerationSettings, maxLengthSet: boolean, inputLength: number, maxNewTokens: number | undefined, positions = Infinity): number {
  const newTokens = maxNewTokens ?? g.maxNewTokens;
  if (newTokens !== null) return inputLength + newTokens;
  if (maxLengthSet) return g.maxLength;
  return Math.min(inputLength + HF_DEFAULTS.maxLength, positions);
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : v === null;
}
