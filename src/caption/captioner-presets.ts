import { defaultPreprocess } from "../data/preprocess-config.js";
import { VitlensError } from "../errors.js";
import { presetConfig } from "../models/vit-config.js";
import { initParams } from "../models/vit-params.js";
import { ViT } from "../models/vit.js";
import { BpeTokenizer, byteLevelBpeJson } from "./bpe-tokenizer.js";
import { initDecoderParams, type DecoderConfig } from "./decoder-config.js";
import { HF_DEFAULTS } from "./generation-config.js";
import { HfCaptioner } from "./hf-captioner.js";
import { BlipCaptioner, blipDecoderConfig } from "./blip-captioner.js";
import { addSpecialTokens, bertLikeVocabulary, wordPieceJson, WordPieceTokenizer } from "./wordpiece-tokenizer.js";

/**
 * Captioners with random weights at real shapes (benchmarks, smoke tests): `vit-gpt2` is
 * nlpconnect/vit-gpt2-image-captioning's architecture, ViT-B/16 at 224 + GPT-2 small (12 layers,
 * width 768, 12 heads, 50,257 tokens, 1,024 positions) with cross-attention; `blip-base` is
 * Salesforce/blip-image-captioning-base's, ViT-B/16 at 384 + BERT-base decoder (BlipConfig's defaults).
 */
export const CAPTIONER_PRESETS: Record<string, { encoder: string; decoder: Omit<DecoderConfig, "encoderHiddenSize"> }> = {
  "vit-gpt2": {
    encoder: "vit-b16",
    decoder: {
      vocabSize: 50257, maxLength: 1024, hiddenSize: 768, numLayers: 12, numHeads: 12, mlpSize: 3072,
      tieEmbeddings: true, layerNormEps: 1e-5, activation: "gelu_tanh", lmHeadBias: false,
    },
  },
  "blip-base": { encoder: "vit-b16", decoder: blipDecoderConfig({}, "preset blip-base") }, // BlipTextConfig's defaults, as a config.json without them loads
};

/** GPT-2's byte -> printable character table (the byte-level BPE's first 256 tokens). */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : 256 + n++);
  return out;
}

/** A stand-in byte-level vocabulary of V tokens: the 256 bytes, filler words " t<id>", then <|endoftext|>. */
function standInTokenizer(V: number): BpeTokenizer {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((c, b) => (vocab[c] = b));
  for (let id = 256; id < V - 1; id++) vocab[`Ġt${id}`] = id;
  vocab["<|endoftext|>"] = V - 1;
  const config = { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>" };
  return BpeTokenizer.fromJson(byteLevelBpeJson(vocab, [], config), config, "preset tokenizer");
}

export function captionerPreset(name: string, seed = 0): HfCaptioner | BlipCaptioner {
  if (name === "blip-base") return blipBasePreset(seed);
  const p = CAPTIONER_PRESETS[name];
  if (!p) throw new VitlensError(`captioner preset ${name}: unknown (presets: ${Object.keys(CAPTIONER_PRESETS).join(", ")})`);
  const encoderConfig = presetConfig(p.encoder, { numClasses: 0 });
  const decoderConfig: DecoderConfig = { ...p.decoder, encoderHiddenSize: p.decoder.hiddenSize };
  if (encoderConfig.hiddenSize !== decoderConfig.hiddenSize) decoderConfig.encoderProjection = encoderConfig.hiddenSize;
  const eos = decoderConfig.vocabSize - 1;
  const generation = { ...HF_DEFAULTS, decoderStartTokenId: eos, bosTokenId: eos, eosTokenId: eos, padTokenId: eos };
  const preprocess = defaultPreprocess(encoderConfig.imageSize); // ViTImageProcessor's: bilinear, mean = std = 0.5
  return new HfCaptioner(
    new ViT(encoderConfig, initParams(encoderConfig, seed)), decoderConfig, initDecoderParams(decoderConfig, seed + 1),
    standInTokenizer(decoderConfig.vocabSize), preprocess, generation, { model_type: "vision-encoder-decoder", preset: name },
  );
}

/**
 * BLIP base's shapes (BlipVisionConfig / BlipTextConfig defaults: ViT-B/16 at 384, eps 1e-5; a
 * BERT-base decoder of 30,524 tokens and 512 positions, eps 1e-12) with random weights, a stand-in
 * WordPiece vocabulary of that size with [DEC] at 30522, BlipImageProcessor's pixels (384,
 * bicubic, CLIP's mean and std).
 */
function blipBasePreset(seed: number): BlipCaptioner {
  const encoderConfig = presetConfig("vit-b16", { numClasses: 0, imageSize: [384, 384], layerNormEps: 1e-5 });
  const decoderConfig: DecoderConfig = { ...CAPTIONER_PRESETS["blip-base"].decoder, encoderHiddenSize: encoderConfig.hiddenSize };
  const tokens = bertLikeVocabulary(30522);
  const json = wordPieceJson(tokens, {}, "preset blip-base"); // BLIP's tokenizer: bert-base-uncased + [DEC], [ENC] as special added tokens
  addSpecialTokens(json, [{ content: "[DEC]", id: 30522 }, { content: "[ENC]", id: 30523 }]);
  const tokenizer = WordPieceTokenizer.fromJson(json, {}, "preset blip-base", "transformers-5"); // as a loaded BLIP decodes
  const preprocess = {
    ...defaultPreprocess([384, 384]), resample: "bicubic" as const, mean: [0.48145466, 0.4578275, 0.40821073] as [number, number, number], std: [0.26862954, 0.26130258, 0.27577711] as [number, number, number],
  };
  const generation = { ...HF_DEFAULTS, bosTokenId: 30522, eosTokenId: 102, padTokenId: 0 };
  return new BlipCaptioner(new ViT(encoderConfig, initParams(encoderConfig, seed)), decoderConfig, initDecoderParams(decoderConfig, seed + 1), tokenizer, preprocess, generation, null, false);
}
