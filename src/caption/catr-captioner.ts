import type { Backend } from "../backend/backend.js";
import { getBackend } from "../backend/index.js";
import { CATR_BACKBONE_PREFIX, catrConfigFromState, type CatrReadOptions } from "../checkpoint/keymap-catr.js";
import { readTorchFile } from "../checkpoint/torch-pickle.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import { VitlensError } from "../errors.js";
import { Catr } from "../models/catr.js";
import { CATR_END_TOKEN, CATR_START_TOKEN } from "../models/catr-config.js";
import { ResnetTrunk } from "../models/resnet.js";
import type { Tensor } from "../tensor.js";
import { checkVocabularySize, type CaptionTokenizer } from "./tokenizer.js";

export const CATR_TYPE = "catr";

/** CATR's val_transform: long side to 299 (PIL bicubic, also upscaling), to tensor, mean = std = 0.5. */
export const CATR_PREPROCESS: PreprocessConfig = {
  size: [299, 299], resize: { kind: "longer", longest: 299 }, resample: "bicubic", rescaleFactor: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5],
};

/**
 * A CATR model with its WordPiece tokenizer: captions start at [CLS] (101) and end at [SEP] (102),
 * as CATR's predict.py; decoded with BERT's rules, the first letter capitalized.
 */
export class CatrCaptioner {
  readonly kind = CATR_TYPE;
  readonly startToken = CATR_START_TOKEN;
  readonly endToken = CATR_END_TOKEN;

  constructor(readonly model: Catr, readonly tokenizer: CaptionTokenizer, readonly preprocess: PreprocessConfig = CATR_PREPROCESS, readonly source = "CATR") {
    checkVocabularySize(tokenizer, model.config.vocabSize, `${source}: transformer.embeddings.word_embeddings.weight`);
  }

  /** The decoder's shape as map selection and generation read it (layers, heads, vocabulary, positions). */
  get decoderConfig(): { numLayers: number; numHeads: number; vocabSize: number; maxLength: number } {
    const c = this.model.config;
    return { numLayers: c.decoderLayers, numHeads: c.numHeads, vocabSize: c.vocabSize, maxLength: c.maxPositions };
  }
}

export interface CatrLoadOptions extends CatrReadOptions {
  /** The backend the backbone's prepared convolutions run on (getBackend() when omitted). */
  backend?: Backend;
}

/** CATR from a state dict: the transformer checked against its shapes, the ResNet trunk built (BN folded). */
export function catrFromState(tensors: Map<string, Tensor>, file: string, o: CatrLoadOptions = {}): Catr {
  const config = catrConfigFromState(tensors, file, o);
  const trunk = ResnetTrunk.fromStateDict(tensors, CATR_BACKBONE_PREFIX, { dilateLayer4: config.dilation, backend: o.backend ?? getBackend() });
  if (trunk.outChannels !== config.backboneChannels) {
    throw new VitlensError(`${file}: input_proj.weight takes ${config.backboneChannels} channels but the backbone's layer4 gives ${trunk.outChannels}`);
  }
  const params = new Map([...tensors].filter(([k]) => !k.startsWith(CATR_BACKBONE_PREFIX)));
  return new Catr(config, params, trunk);
}

/** A CATR checkpoint file (torch.save of {'model': state_dict, ...} or of the state dict itself) with a tokenizer. */
export function loadCatrCaptioner(file: string, tokenizer: CaptionTokenizer, o: CatrLoadOptions = {}): CatrCaptioner {
  const { tensors } = readTorchFile(file);
  return new CatrCaptioner(catrFromState(tensors, file, o), tokenizer, CATR_PREPROCESS, file);
}
