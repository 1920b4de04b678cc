import type { PreprocessConfig } from "../data/preprocess-config.js";
import { VitlensError } from "../errors.js";
import type { ViT } from "../models/vit.js";
import type { Params } from "../tensor.js";
import { captionerParams } from "./captioner-files.js";
import type { DecoderConfig } from "./decoder-config.js";
import type { GenerationSettings } from "./generation-config.js";
import type { SubwordTokenizer } from "./tokenizer.js";

/**
 * What the captioners read from a transformers folder share (ViT + GPT-2 VisionEncoderDecoder,
 * BLIP): vitlens' ViT as the encoder, the caption decoder, a subword tokenizer, the encoder's
 * preprocessing and transformers' generation settings — what generation, scoring and training
 * read. Each kind adds its file layout (save), its start token and how it counts max_length.
 */
export abstract class TransformersCaptioner<T extends SubwordTokenizer = SubwordTokenizer> {
  abstract readonly kind: string;
  /** What the tokenizer cuts a caption into, as training names it ("BPE pieces"). */
  abstract readonly unit: string;

  constructor(
    readonly encoder: ViT,
    readonly decoderConfig: DecoderConfig,
    readonly decoderParams: Params,
    readonly tokenizer: T,
    readonly preprocess: PreprocessConfig,
    readonly generation: GenerationSettings,
    /** The folder it was read from (save() copies its tokenizer and processor files); null for a preset. */
    readonly sourceDir: string | null,
    /** Whether a file set max_length (else transformers generates 20 new tokens: generatedLength). */
    readonly maxLengthSet: boolean,
  ) {
    if (tokenizer.size !== decoderConfig.vocabSize) {
      throw new VitlensError(`${sourceDir ?? "preset"}: the tokenizer has ${tokenizer.size} tokens but the decoder's vocab_size is ${decoderConfig.vocabSize}: the tokenizer does not belong to this model`);
    }
  }

  /** Every trainable tensor under vitlens' names (encoder.* and decoder.*). */
  allParams(): Params {
    return captionerParams(this.encoder, this.decoderParams);
  }

  /** The folder save() copies the tokenizer and processor files from: a preset has none. */
  protected filesFor(dir: string): string {
    if (this.sourceDir === null) throw new VitlensError(`${dir}: this captioner is a preset, not read from a folder: it has no tokenizer files to write beside it`);
    return this.sourceDir;
  }

  /** Writes the layout transformers loads this kind from. */
  abstract save(dir: string): void;

  /** The token generation starts from. */
  abstract get startToken(): number;

  /** max_length for `promptLength` prompt tokens after the start token and an optional --max-len (new tokens, as max_new_tokens). */
  abstract maxLength(promptLength: number, maxNewTokens?: number): number;
}
