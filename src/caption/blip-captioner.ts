import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { inferConfig, preprocessFrom, readPreprocessorJson } from "../checkpoint/config.js";
import { fromBlip, isBlipStateDict, toBlip } from "../checkpoint/keymap-blip.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { VitlensError } from "../errors.js";
import { finiteNumber } from "../io/json-values.js";
import { readJson } from "../io/read-json.js";
import { validateConfig } from "../models/vit-config.js";
import { vitParameterShapes } from "../models/vit-params.js";
import { ViT } from "../models/vit.js";
import { activationNamed } from "../nn/activation.js";
import { checkExactShapes, copyCaptionerFiles, readCaptionerWeights } from "./captioner-files.js";
import { decoderParameterShapes, validateDecoderConfig, type DecoderConfig } from "./decoder-config.js";
import { generatedLength, readGenerationSettings, type GenerationSettings } from "./generation-config.js";
import { TransformersCaptioner } from "./transformers-captioner.js";
import { WordPieceTokenizer } from "./wordpiece-tokenizer.js";

export const BLIP_TYPE = "blip";

/**
 * Salesforce's BLIP captioner (transformers' BlipForConditionalGeneration): a ViT (pre-norm, fused
 * qkv, post_layernorm on every token) and a BERT decoder with cross-attention in every layer,
 * held as vitlens' ViT and its caption decoder in BERT's post-norm form. Captions start at
 * [DEC] (text_config.bos_token_id) followed by an optional prompt, and end at [SEP].
 */
export class BlipCaptioner extends TransformersCaptioner<WordPieceTokenizer> {
  readonly kind = BLIP_TYPE;
  readonly unit = "WordPiece pieces";

  /**
   * Writes the layout transformers loads (BlipForConditionalGeneration): config.json and the
   * tokenizer and processor files copied from the folder it was read from, model.safetensors
   * under BLIP's names (the tied LM head left out, as transformers saves it).
   */
  save(dir: string): void {
    const source = this.filesFor(dir);
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, "model.safetensors"), toBlip(this.encoder.params, this.decoderParams));
    copyCaptionerFiles(source, dir);
    if (resolve(source) !== resolve(dir)) copyFileSync(join(source, "config.json"), join(dir, "config.json")); // last: a folder without it is not loadable
  }

  /** [DEC]: what BLIP's generate puts in place of the prompt's [CLS]. */
  get startToken(): number {
    return this.generation.bosTokenId!;
  }

  /** BLIP's generate caps the default length at the decoder's positions. */
  maxLength(promptLength: number, maxNewTokens?: number): number {
    return generatedLength(this.generation, this.maxLengthSet, 1 + promptLength, maxNewTokens, this.decoderConfig.maxLength);
  }

  /** A prompt's tokens as BLIP's generate feeds them after [DEC]: the processor's ids without [CLS] and the final [SEP]. */
  promptIds(prompt: string | undefined): number[] {
    return prompt ? this.tokenizer.encode(prompt) : [];
  }
}

/** BLIP's text decoder (BlipTextConfig) as vitlens' caption decoder. */
export function blipDecoderConfig(t: Record<string, unknown>, file: string): DecoderConfig {
  const activation = activationNamed(String(t.hidden_act ?? "gelu"));
  if (!activation) throw new VitlensError(`${file}: text_config.hidden_act ${JSON.stringify(t.hidden_act)} is not an activation vitlens has`);
  const D = finiteNumber(t.hidden_size) ?? 768;
  return validateDecoderConfig({
    vocabSize: finiteNumber(t.vocab_size) ?? 30524,
    maxLength: finiteNumber(t.max_position_embeddings) ?? 512,
    hiddenSize: D,
    numLayers: finiteNumber(t.num_hidden_layers) ?? 12,
    numHeads: finiteNumber(t.num_attention_heads) ?? 12,
    mlpSize: finiteNumber(t.intermediate_size) ?? 3072,
    encoderHiddenSize: finiteNumber(t.encoder_hidden_size) ?? 768,
    tieEmbeddings: t.tie_word_embeddings !== false,
    layerNormEps: finiteNumber(t.layer_norm_eps) ?? 1e-12,
    activation,
    lmHeadBias: true,
    norm: "post",
    embeddingNorm: true,
    headTransform: true,
  }, file);
}

/** A BLIP folder (config.json with model_type "blip", weights, tokenizer, processor or preprocessor config). */
export function loadBlipCaptioner(dir: string, o: { warn?: (line: string) => void } = {}): BlipCaptioner {
  const cfgPath = join(dir, "config.json");
  const cfg = readJson(cfgPath) as Record<string, unknown>;
  if (cfg.model_type !== BLIP_TYPE) throw new VitlensError(`${cfgPath}: model_type ${JSON.stringify(cfg.model_type)} is not "${BLIP_TYPE}"`);
  const vision = (cfg.vision_config ?? {}) as Record<string, unknown>;
  const text = (cfg.text_config ?? {}) as Record<string, unknown>;
  const { tensors, file } = readCaptionerWeights(dir);
  if (!isBlipStateDict(tensors.keys())) throw new VitlensError(`${file}: no text_decoder.bert.* keys: not a BlipForConditionalGeneration checkpoint (BLIP's retrieval and question-answering heads are not captioners)`);
  const mapped = fromBlip(tensors, file);
  if (mapped.ignored.length) o.warn?.(`${file}: ignoring ${mapped.ignored.length} key(s) a captioner does not use: ${mapped.ignored.slice(0, 4).join(", ")}${mapped.ignored.length > 4 ? ", ..." : ""}`);

  const act = activationNamed(String(vision.hidden_act ?? "gelu"));
  if (!act) throw new VitlensError(`${cfgPath}: vision_config.hidden_act ${JSON.stringify(vision.hidden_act)} is not an activation vitlens has`);
  const encoderConfig = validateConfig(inferConfig(mapped.vision.params, file, {
    numHeads: finiteNumber(vision.num_attention_heads) ?? 12, layerNormEps: finiteNumber(vision.layer_norm_eps) ?? 1e-5, activation: act,
    ...(typeof vision.image_size === "number" ? { imageSize: [vision.image_size, vision.image_size] as [number, number] } : {}),
  }));
  checkExactShapes(vitParameterShapes(encoderConfig), mapped.vision.params, mapped.vision.origin, file);
  const decoderConfig = blipDecoderConfig(text, cfgPath);
  if (!decoderConfig.tieEmbeddings && !mapped.text.params.has("decoder.lm_head.weight")) {
    throw new VitlensError(`${file}: missing key text_decoder.cls.predictions.decoder.weight (text_config.tie_word_embeddings is false)`);
  }
  // The output bias: the head's own `decoder.bias` when untied (cls.predictions.bias is then stored but
  // unused), cls.predictions.bias when tied (the two are one parameter in transformers)
  const p = mapped.text.params;
  const own = p.get("decoder.lm_head.decoder_bias");
  p.delete("decoder.lm_head.decoder_bias");
  if (!decoderConfig.tieEmbeddings && own) p.set("decoder.lm_head.bias", own);
  else if (!p.has("decoder.lm_head.bias") && own) p.set("decoder.lm_head.bias", own);
  if (decoderConfig.tieEmbeddings) p.delete("decoder.lm_head.weight"); // tied: the word embeddings are the weight
  checkExactShapes(decoderParameterShapes(decoderConfig), mapped.text.params, mapped.text.origin, file);

  const preprocess = preprocessFrom(null, readPreprocessorJson(dir), encoderConfig.imageSize);
  // BLIP's vision embeddings take only the size they were made for (transformers does not interpolate them by default)
  if (preprocess.size[0] !== encoderConfig.imageSize[0] || preprocess.size[1] !== encoderConfig.imageSize[1]) {
    throw new VitlensError(`${dir}: the image processor makes ${preprocess.size.join("x")} images, the vision model takes ${encoderConfig.imageSize.join("x")} (vision_config.image_size): they do not belong together`);
  }
  const tokenizer = WordPieceTokenizer.load(dir, "transformers-5");
  // generation_config.json when present (transformers' own generate() reads only text_config: it
  // honours the file when given generation_config=model.generation_config), else text_config's
  // fields; BLIP's generate: eos = sep_token_id, pad = pad_token_id, [DEC] = bos_token_id
  const { settings, unsupported, source, maxLengthSet } = readGenerationSettings(dir, text);
  const generation: GenerationSettings = {
    ...settings,
    bosTokenId: finiteNumber(text.bos_token_id) ?? 30522,
    eosTokenId: finiteNumber(text.sep_token_id) ?? 102,
    padTokenId: finiteNumber(text.pad_token_id) ?? 0,
  };
  if (unsupported.length) o.warn?.(`${source}: ignoring generation settings vitlens does not implement: ${unsupported.join(", ")}`);
  return new BlipCaptioner(new ViT(encoderConfig, mapped.vision.params), decoderConfig, mapped.text.params, tokenizer, preprocess, generation, dir, maxLengthSet);
}
