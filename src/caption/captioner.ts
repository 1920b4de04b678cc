import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../io/read-json.js";
import { readSafetensors, writeSafetensors } from "../checkpoint/safetensors.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { validateConfig, type ViTConfig } from "../models/vit-config.js";
import { vitParameterShapes } from "../models/vit-params.js";
import type { Params } from "../tensor.js";
import { ViT } from "../models/vit.js";
import { sameShape, shapeString } from "../tensor.js";
import { captionerParams } from "./captioner-files.js";
import { decoderParameterShapes, validateDecoderConfig, type DecoderConfig } from "./decoder-config.js";
import { Vocabulary } from "./vocabulary.js";

export const CAPTIONER_TYPE = "vitlens-captioner";

/**
 * ViT encoder (no head) + Transformer decoder + word vocabulary. One folder on disk:
 * config.json (encoder, decoder, preprocessing), model.safetensors (encoder.* and decoder.*
 * tensors), vocab.json.
 */
export class Captioner {
  constructor(
    readonly encoder: ViT,
    readonly decoderConfig: DecoderConfig,
    readonly decoderParams: Params,
    readonly vocab: Vocabulary,
    readonly preprocess: PreprocessConfig,
  ) {
    if (vocab.size !== decoderConfig.vocabSize) {
      throw new VitlensError(`the vocabulary has ${vocab.size} tokens, the decoder expects ${decoderConfig.vocabSize}`);
    }
    if (encoder.config.hiddenSize !== decoderConfig.encoderHiddenSize) {
      throw new VitlensError(`the encoder's hidden size is ${encoder.config.hiddenSize}, the decoder's cross-attention expects ${decoderConfig.encoderHiddenSize}`);
    }
  }

  /** Every trainable tensor under its saved name (encoder.* and decoder.*). */
  allParams(): Params {
    return captionerParams(this.encoder, this.decoderParams);
  }

  save(dir: string): void {
    mkdirSync(dir, { recursive: true });
    writeSafetensors(join(dir, "model.safetensors"), this.allParams());
    writeFileAtomic(join(dir, "vocab.json"), [JSON.stringify(this.vocab.toJson()) + "\n"]);
    const config = { model_type: CAPTIONER_TYPE, encoder: this.encoder.config, decoder: this.decoderConfig, preprocess: this.preprocess };
    writeFileAtomic(join(dir, "config.json"), [JSON.stringify(config, null, 2) + "\n"]); // last: a folder without it is not loadable
  }
}

export function loadCaptioner(dir: string): Captioner {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new VitlensError(`${dir}: no config.json (expected a captioner folder written by vitlens train-captioner)`);
  const cfg = readJson(cfgPath) as { model_type?: unknown; encoder?: ViTConfig; decoder?: DecoderConfig; preprocess?: PreprocessConfig };
  if (cfg.model_type !== CAPTIONER_TYPE || !cfg.encoder || !cfg.decoder || !cfg.preprocess) {
    throw new VitlensError(`${cfgPath}: not a captioner config (model_type "${String(cfg.model_type)}", expected "${CAPTIONER_TYPE}" with encoder, decoder and preprocess)`);
  }
  const encoderConfig = validateConfig(cfg.encoder);
  const decoderConfig = validateDecoderConfig(cfg.decoder, cfgPath);
  const vocabPath = join(dir, "vocab.json");
  if (!existsSync(vocabPath)) throw new VitlensError(`${dir}: no vocab.json beside the captioner`);
  const vocab = Vocabulary.fromJson(readJson(vocabPath), vocabPath);
  if (vocab.size !== decoderConfig.vocabSize) {
    throw new VitlensError(`${vocabPath}: ${vocab.size} tokens, but the model was trained with a vocabulary of ${decoderConfig.vocabSize}: this vocabulary does not belong to it`);
  }
  const weightsPath = join(dir, "model.safetensors");
  const tensors = readSafetensors(weightsPath).tensors;
  const encoderParams: Params = new Map();
  const decoderParams: Params = new Map();
  const expected: Array<[string, number[], Params, string]> = [
    ...vitParameterShapes(encoderConfig).map(([n, s]): [string, number[], Params, string] => [`encoder.${n}`, s, encoderParams, n]),
    ...decoderParameterShapes(decoderConfig).map(([n, s]): [string, number[], Params, string] => [n, s, decoderParams, n]),
  ];
  for (const [key, shape, into, name] of expected) {
    const t = tensors.get(key);
    if (!t) throw new VitlensError(`${weightsPath}: missing key ${key}`);
    if (!sameShape(t.shape, shape)) throw new VitlensError(`${weightsPath}: key ${key} has shape ${shapeString(t.shape)}, expected ${shapeString(shape)} from config.json`);
    into.set(name, t);
  }
  if (tensors.size !== expected.length) {
    const known = new Set(expected.map(([k]) => k));
    throw new VitlensError(`${weightsPath}: unexpected key ${[...tensors.keys()].find((k) => !known.has(k))}`);
  }
  // Captioners saved before resize policies existed resized straight to the model size.
  const preprocess: PreprocessConfig = { ...cfg.preprocess, resize: cfg.preprocess.resize ?? { kind: "exact" } };
  return new Captioner(new ViT(encoderConfig, encoderParams), decoderConfig, decoderParams, vocab, preprocess);
}
