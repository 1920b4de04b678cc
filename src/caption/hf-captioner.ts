import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { configHints, inferConfig, preprocessFrom, readPreprocessorJson } from "../checkpoint/config.js";
import { fromVisionEncoderDecoder, isVisionEncoderDecoderStateDict, toVisionEncoderDecoder } from "../checkpoint/keymap-gpt2.js";
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { VitlensError } from "../errors.js";
import { finiteNumber } from "../io/json-values.js";
import { readJson } from "../io/read-json.js";
import { validateConfig } from "../models/vit-config.js";
import { vitParameterShapes } from "../models/vit-params.js";
import { ViT } from "../models/vit.js";
import type { Params, Tensor } from "../tensor.js";
import { checkExactShapes, copyCaptionerFiles, readCaptionerWeights } from "./captioner-files.js";
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { decoderParameterShapes, validateDecoderConfig, type DecoderConfig } from "./decoder-config.js";
import { generatedLength, readGenerationSettings, type GenerationSettings } from "./generation-config.js";
import { TransformersCaptioner } from "./transformers-captioner.js";

export const HF_CAPTIONER_TYPE = "vision-encoder-decoder";

/**
 * A Hugging Face VisionEncoderDecoderModel with a ViT encoder and a GPT-2 decoder
 * (nlpconnect/vit-gpt2-image-captioning and its kind), held in vitlens' captioner layout: the
 * encoder a ViT, the decoder the captioner decoder with GPT-2's options (tanh GELU, no lm_head
 * bias, tied embeddings, HF's enc_to_dec_proj when the widths differ).
 */
export class HfCaptioner extends TransformersCaptioner<BpeTokenizer> {
  readonly kind = HF_CAPTIONER_TYPE;
  readonly unit = "BPE pieces";

  constructor(
    encoder: ViT, decoderConfig: DecoderConfig, decoderParams: Params, tokenizer: BpeTokenizer,
    preprocess: PreprocessConfig, generation: GenerationSettings,
    /** config.json as read (kept for writing the HF layout back). */
    readonly hfConfig: Record<string, unknown>,
    sourceDir: string | null = null,
    /** Tensors vitlens does not use but writes back unchanged (the encoder's pooler). */
    readonly passthrough: Map<string, Tensor> = new Map(),
    maxLengthSet = true,
  ) {
    super(encoder, decoderConfig, decoderParams, tokenizer, preprocess, generation, sourceDir, maxLengthSet);
  }

  /** The tensors under HF VisionEncoderDecoder names (Conv1D weights (in, out), the tied lm_head left out as transformers saves it). */
  hfState(): Map<string, Tensor> {
    const out = toVisionEncoderDecoder(this.encoder.params, this.decoderParams, this.decoderConfig.tieEmbeddings);
    for (const [k, t] of this.passthrough) out.set(k, t);
    return out;
  }

  /**
   * Writes the HF layout transformers loads: config.json (as read), model.safetensors, and the
   * source folder's generation, preprocessor and tokenizer files copied over.
   */
  save(dir: string): void {
    const source = this.filesFor(dir);
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, "model.safetensors"), this.hfState());
    copyCaptionerFiles(source, dir);
    writeFileAtomic(join(dir, "config.json"), [JSON.stringify(this.hfConfig, null, 2) + "\n"]); // last: a folder without it is not loadable
  }

  /** max_length: the start token plus --max-len new tokens, else as the generation settings say (generatedLength). */
  maxLength(promptLength: number, maxNewTokens?: number): number {
    return generatedLength(this.generation, this.maxLengthSet, 1 + promptLength, maxNewTokens);
  }

  /** The token the decoder starts from: decoder_start_token_id, else bos_token_id (as transformers' generate). */
  get startToken(): number {
    return (this.generation.decoderStartTokenId ?? this.generation.bosTokenId)!;
  }
}

/** The decoder config of a GPT-2 `decoder` section (GPT2Config names and defaults). */
export function gpt2DecoderConfig(dec: Record<string, unknown>, encoderWidth: number, file: string): DecoderConfig {
  if (dec.model_type !== "gpt2") {
    throw new VitlensError(`${file}: decoder model_type ${JSON.stringify(dec.model_type)} is not supported (vitlens loads VisionEncoderDecoder captioners with a GPT-2 decoder: "gpt2")`);
  }
  if (dec.add_cross_attention !== true) throw new VitlensError(`${file}: the GPT-2 decoder has no cross-attention (add_cross_attention is not true): it cannot look at the image`);
  const act = dec.activation_function ?? "gelu_new";
  const activation = act === "gelu_new" || act === "gelu_pytorch_tanh" ? "gelu_tanh" : act === "gelu" ? "gelu" : null;
  if (!activation) throw new VitlensError(`${file}: decoder activation_function ${JSON.stringify(act)} is not supported (expected "gelu_new", "gelu_pytorch_tanh" or "gelu")`);
  if (dec.scale_attn_weights === false || dec.scale_attn_by_inverse_layer_idx === true) {
    throw new VitlensError(`${file}: GPT-2 attention scaling other than 1/sqrt(head_dim) (scale_attn_weights false or scale_attn_by_inverse_layer_idx true) is not supported`);
  }
  const D = finiteNumber(dec.n_embd) ?? 768;
  if (dec.cross_attention_hidden_size != null && dec.cross_attention_hidden_size !== D) {
    throw new VitlensError(`${file}: decoder cross_attention_hidden_size ${String(dec.cross_attention_hidden_size)} is not supported by GPT-2's cross-attention (it attends from n_embd ${D})`);
  }
  return validateDecoderConfig({
    vocabSize: finiteNumber(dec.vocab_size) ?? 50257,
    maxLength: finiteNumber(dec.n_positions) ?? 1024,
    hiddenSize: D,
    numLayers: finiteNumber(dec.n_layer) ?? 12,
    numHeads: finiteNumber(dec.n_head) ?? 12,
    mlpSize: finiteNumber(dec.n_inner) ?? 4 * D,
    encoderHiddenSize: D,
    tieEmbeddings: dec.tie_word_embeddings !== false,
    layerNormEps: finiteNumber(dec.layer_norm_epsilon) ?? 1e-5,
    activation,
    lmHeadBias: false,
    ...(encoderWidth !== D ? { encoderProjection: encoderWidth } : {}),
  }, file);
}

/** Loads a VisionEncoderDecoder folder (config.json with model_type "vision-encoder-decoder"). */
export function loadHfCaptioner(dir: string, o: { warn?: (line: string) => void } = {}): HfCaptioner {
  const cfgPath = join(dir, "config.json");
  const cfg = readJson(cfgPath) as Record<string, unknown>;
  if (cfg.model_type !== HF_CAPTIONER_TYPE) throw new VitlensError(`${cfgPath}: model_type ${JSON.stringify(cfg.model_type)} is not "${HF_CAPTIONER_TYPE}"`);
  const enc = (cfg.encoder ?? {}) as Record<string, unknown>;
  const dec = (cfg.decoder ?? {}) as Record<string, unknown>;
  if (enc.model_type !== "vit") {
    throw new VitlensError(`${cfgPath}: encoder model_type ${JSON.stringify(enc.model_type)} is not supported (vitlens loads VisionEncoderDecoder captioners with a ViT encoder: "vit"; DeiT's distillation token, Swin and others are not)`);
  }
  const { tensors, file } = readCaptionerWeights(dir);
  if (!isVisionEncoderDecoderStateDict(tensors.keys())) throw new VitlensError(`${file}: no decoder.transformer.* keys: not a ViT + GPT-2 VisionEncoderDecoder checkpoint`);
  const mapped = fromVisionEncoderDecoder(tensors, file);

  const encoderConfig = validateConfig(inferConfig(mapped.encoder.params, file, configHints({ kind: "hf", json: enc }, cfgPath)));
  checkExactShapes(vitParameterShapes(encoderConfig), mapped.encoder.params, mapped.encoder.origin, file, "encoder.");
  const decoderConfig = gpt2DecoderConfig(dec, encoderConfig.hiddenSize, cfgPath);
  const decoderParams = mapped.decoder.params;
  if (!decoderConfig.tieEmbeddings) {
    if (!mapped.lmHead) throw new VitlensError(`${file}: missing key decoder.lm_head.weight (the decoder's tie_word_embeddings is false)`);
    decoderParams.set("decoder.lm_head.weight", mapped.lmHead);
    mapped.decoder.origin.set("decoder.lm_head.weight", "decoder.lm_head.weight");
  }
  checkExactShapes(decoderParameterShapes(decoderConfig), decoderParams, mapped.decoder.origin, file, "");

  const preprocessorJson = readPreprocessorJson(dir);
  const preprocess = preprocessFrom({ kind: "hf", json: enc }, preprocessorJson, encoderConfig.imageSize);
  const tokenizer = BpeTokenizer.load(dir);
  const { settings, unsupported, source, maxLengthSet } = readGenerationSettings(dir, cfg);
  if (settings.decoderStartTokenId === null && settings.bosTokenId === null) {
    throw new VitlensError(`${cfgPath}: no decoder_start_token_id (nor bos_token_id): the decoder has no token to start a caption from`);
  }
  if (settings.eosTokenId === null) throw new VitlensError(`${cfgPath}: no eos_token_id: a caption could not end before max_length`);
  if (unsupported.length) o.warn?.(`${source}: ignoring generation settings vitlens does not implement: ${unsupported.join(", ")}`);
  return new HfCaptioner(new ViT(encoderConfig, mapped.encoder.params), decoderConfig, decoderParams, tokenizer, preprocess, settings, cfg, dir,
    new Map([...tensors].filter(([k]) => k.startsWith("encoder.pooler."))), maxLengthSet);
}
