import type { Tokenizer } from "@huggingface/tokenizers";
import { VitlensError } from "../errors.js";

/** One word of a caption as drawn: its text and the positions of its pieces among the generated ids. */
export interface WordGroup {
  word: string;
  pieces: number[];
}

/** What captioning needs from a subword tokenizer (GPT-2's byte-level BPE, BERT's WordPiece). */
export interface CaptionTokenizer {
  /** Number of ids (highest id + 1): the rows the word embedding must have. */
  readonly size: number;
  isSpecial(id: number): boolean;
  /** Ids of a text, without special tokens. */
  encode(text: string): number[];
  /** Hugging Face's decode(ids, skip_special_tokens=True). */
  decode(ids: number[], o?: { cleanUp?: boolean }): string;
  /** The model's piece for an id. */
  piece(id: number): string;
  /** Generated ids grouped into the words the caption shows; special tokens belong to none. */
  words(ids: number[]): WordGroup[];
}

/**
 * What both subword tokenizers (BPE, WordPiece) share over an @huggingface/tokenizers Tokenizer:
 * the special ids, decoding without them, an id's piece. Each says how it encodes and how its
 * pieces form words.
 */
export abstract class SubwordTokenizer implements CaptionTokenizer {
  protected readonly special: Set<number>;

  /** `cleanUp`: clean_up_tokenization_spaces when decode() is not told (undefined: the tokenizer's own setting). */
  protected constructor(protected readonly tok: Tokenizer, readonly size: number, special: Iterable<number>, private readonly cleanUp?: boolean) {
    this.special = new Set(special);
  }

  abstract encode(text: string): number[];
  abstract words(ids: number[]): WordGroup[];

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** HF's decode(ids, skip_special_tokens=True); `cleanUp` overrides clean_up_tokenization_spaces. */
  decode(ids: number[], o: { cleanUp?: boolean } = {}): string {
    const kept = ids.filter((id) => !this.special.has(id));
    if (kept.length === 0) return "";
    return this.tok.decode(kept, { skip_special_tokens: true, clean_up_tokenization_spaces: o.cleanUp ?? this.cleanUp });
  }

  /** The vocabulary's piece for an id (`Ġsk`, `##s`, `[CLS]`). */
  piece(id: number): string {
    return this.tok.id_to_token(id) ?? `<${id}>`;
  }
}

/**
 * A model's word embedding has one row per id: a vocabulary of another size would decode its
 * ids into the wrong words, so it is refused. `where` names the checkpoint (and key).
 */
export function checkVocabularySize(tokenizer: { size: number }, embeddingRows: number, where: string): void {
  if (tokenizer.size !== embeddingRows) {
    throw new VitlensError(`${where}: the word embedding has ${embeddingRows} rows but the tokenizer has ${tokenizer.size} ids (pass the vocabulary the model was trained with: --tokenizer)`);
  }
}

/** Python's str.capitalize(), which CATR's predict.py prints: first character upper case, the rest lower. */
export function capitalizeFirst(text: string): string {
  const [first = "", ...rest] = [...text];
  return first.toUpperCase() + rest.join("").toLowerCase();
}

/** A special token in tokenizer_config.json: a string or an AddedToken object {content}. */
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}
