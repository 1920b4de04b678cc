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
