/** vitlens library entry: the public API, with types. */
export type { Backend } from "./backend/backend.js";
export { getBackend, jsBackend, tryNativeBackend } from "./backend/index.js";
export { PRECISIONS, cpuFeatures, parsePrecisionRequest, resolvePrecision, withPrecision, type CpuFeatures, type Precision, type PrecisionRequest } from "./backend/precision.js";
export { roundBf16, bf16 } from "./backend/bf16.js";
export { VitlensError } from "./errors.js";
export type { Tensor } from "./tensor.js";
export { numel, zeros } from "./tensor.js";

export { ViT, type ViTOutput } from "./models/vit.js";
export { defaultConfig, presetConfig, gridSize, numTokens, VIT_PRESETS, type ViTConfig } from "./models/vit-config.js";
export { initParams, vitParameterShapes, countParameters } from "./models/vit-params.js";
export type { Params } from "./tensor.js";
export { forwardFlops } from "./models/flops.js";
export { softmax, topK } from "./models/scores.js";
export { hfModuleTree, timmModuleTree, formatModuleTree } from "./models/module-tree.js";

export { loadModel, type LoadedModel, type LoadOptions } from "./checkpoint/load.js";
export { saveHfModel } from "./checkpoint/save-hf.js";
export { saveTimmModel } from "./checkpoint/save-timm.js";
export { readTorchFile } from "./checkpoint/torch-pickle.js";
export { readNpz } from "./checkpoint/npz.js";
export { readSafetensors, writeSafetensors } from "./checkpoint/safetensors.js";
export { fromHf, toHf } from "./checkpoint/keymap-hf.js";
export { fromTimm, toTimm } from "./checkpoint/keymap-timm.js";
export { resamplePosEmbed } from "./checkpoint/posemb.js";

export { loadImage, loadBatch } from "./data/preprocess.js";
export { defaultPreprocess, type PreprocessConfig } from "./data/preprocess-config.js";
export { ForwardWorker } from "./worker/forward-worker.js";

export { downloadModel, parseHubId } from "./hub/snapshot.js";
export { openModel, type OpenModelOptions } from "./hub/model-spec.js";
export { hubOptionsFromEnv, type HubOptions } from "./hub/download.js";
export { resolveTorchHubCheckpoint, torchHubFile, torchHubDir, isCatrName, CATR_CHECKPOINTS, type TorchHubOptions } from "./hub/torch-hub.js";

export { Captioner, loadCaptioner } from "./caption/captioner.js";
export { Vocabulary, tokenize } from "./caption/vocabulary.js";
export { generateCaption, type GeneratedCaption, type DecodeOptions } from "./caption/decode.js";
export { captionImages, scoreCaptions, clsShare, type AnyCaptioner, type CaptionOptions, type CaptionResult, type CaptionMetrics } from "./caption/evaluate.js";
export { HfCaptioner, loadHfCaptioner } from "./caption/hf-captioner.js";
export { BlipCaptioner, loadBlipCaptioner } from "./caption/blip-captioner.js";
export { TransformersCaptioner } from "./caption/transformers-captioner.js";
export { loadAnyCaptioner } from "./caption/load-any.js";
export { hfGenerate, type HfGenerated } from "./caption/hf-generate.js";
export { readGenerationSettings, type GenerationSettings } from "./caption/generation-config.js";
export { BpeTokenizer } from "./caption/bpe-tokenizer.js";
export { SubwordTokenizer } from "./caption/tokenizer.js";
export { WordPieceTokenizer, resolveWordPieceTokenizer, bertLikeVocabulary, CATR_TOKENIZER, type BertSpecialIds } from "./caption/wordpiece-tokenizer.js";
export { capitalizeFirst, checkVocabularySize, type CaptionTokenizer, type WordGroup } from "./caption/tokenizer.js";
export { captionerPreset, CAPTIONER_PRESETS } from "./caption/captioner-presets.js";
export { CatrCaptioner, loadCatrCaptioner, catrFromState, CATR_PREPROCESS } from "./caption/catr-captioner.js";
export { catrGenerate, catrGenerationSettings, type CatrDecodeOptions } from "./caption/catr-generate.js";
export { catrPreset } from "./caption/catr-preset.js";
export { generateWith, type SearchModel, type SearchState } from "./caption/hf-generate.js";
export { Catr, downsampleMask, type CatrEncoded, type CatrBackbone } from "./models/catr.js";
export { CATR_PRESET_CONFIG, type CatrConfig } from "./models/catr-config.js";
export { sinePositionEncoding } from "./models/sine-position.js";
export { isCatrStateDict, catrConfigFromState } from "./checkpoint/keymap-catr.js";
export { trainCaptioner, type CaptionerTrainOptions } from "./caption/trainer.js";
export { corpusBleu } from "./caption/bleu.js";
