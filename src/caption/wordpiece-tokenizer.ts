import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { VitlensError } from "../errors.js";
import { readJson } from "../io/read-json.js";
import type { HubOptions } from "../hub/download.js";
import { downloadTokenizer } from "../hub/tokenizer-files.js";
import type { TokenizerJson } from "./bpe-tokenizer.js";
import { SubwordTokenizer, tokenContent, type WordGroup } from "./tokenizer.js";

/** The ids of BERT's special tokens (bert-base-uncased: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103). */
export interface BertSpecialIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

const SPECIAL_NAMES = { pad: "pad_token", unk: "unk_token", cls: "cls_token", sep: "sep_token", mask: "mask_token" } as const;
const SPECIAL_DEFAULTS: Record<keyof BertSpecialIds, string> = { pad: "[PAD]", unk: "[UNK]", cls: "[CLS]", sep: "[SEP]", mask: "[MASK]" };

/**
 * BERT's WordPiece tokenizer through @huggingface/tokenizers, from a vocab.txt (the equivalent
 * tokenizer.json is built in memory, as transformers' converter builds it) or a tokenizer.json,
 * each with the tokenizer_config.json beside it when there is one.
 *
 * Decoding gives what transformers 4.36's slow `BertTokenizer.decode(ids, skip_special_tokens=True)`
 * gives (CATR's predict.py uses it): special tokens dropped, pieces joined with spaces, `##` pieces
 * glued to the piece before, then, unless the config turns it off, clean_up_tokenization (no space
 * before . ? ! , and inside contractions: "isn ' t" -> "isn't"). The fast tokenizer's decoder also
 * cleans each piece on its own; that changes only the uncleaned text, so it is turned off here.
 */
export class WordPieceTokenizer extends SubwordTokenizer {
  private constructor(tok: Tokenizer, size: number, readonly ids: BertSpecialIds, special: Iterable<number>, private readonly prefix: string, cleanUp: boolean) {
    super(tok, size, special, cleanUp);
  }

  /**
   * A vocab.txt, a tokenizer.json, or a folder holding either (tokenizer.json preferred), with
   * added_tokens.json's tokens (BLIP's [DEC], [ENC]). `decoding`: "slow" decodes as transformers
   * 4.36's slow BertTokenizer (CATR's predict.py); "transformers-5" as transformers 5 does (the
   * tokenizer's own decoder, clean_up_tokenization_spaces off unless the config sets it: BLIP).
   */
  static load(path: string, decoding: Decoding = "slow"): WordPieceTokenizer {
    if (!existsSync(path)) throw new VitlensError(`${path}: no such tokenizer file or folder`);
    const dir = statSync(path).isDirectory() ? path : dirname(path);
    const configPath = join(dir, "tokenizer_config.json");
    const config = existsSync(configPath) ? readJson(configPath) : {};
    let file = path;
    if (statSync(path).isDirectory()) {
      file = [join(dir, "tokenizer.json"), join(dir, "vocab.txt")].find((f) => existsSync(f)) ?? "";
      if (!file) throw new VitlensError(`${dir}: no tokenizer.json or vocab.txt (a BERT WordPiece tokenizer)`);
    }
    if (basename(file).endsWith(".json")) return WordPieceTokenizer.fromJson(readJson(file) as TokenizerJson, config, file, decoding);
    const json = wordPieceJson(readVocabTxt(file), config, file);
    const addedPath = join(dir, "added_tokens.json");
    if (existsSync(addedPath)) addSpecialTokens(json, Object.entries(readJson(addedPath)).map(([content, id]) => ({ content, id: Number(id) })));
    return WordPieceTokenizer.fromJson(json, config, file, decoding);
  }

  /** From vocab.txt's tokens (line i has id i) and tokenizer_config.json's fields. */
  static fromVocab(tokens: string[], config: Record<string, unknown>, where: string): WordPieceTokenizer {
    return WordPieceTokenizer.fromJson(wordPieceJson(tokens, config, where), config, where);
  }

  /** From a tokenizer.json object and tokenizer_config.json's fields; `where` names them in errors. */
  static fromJson(json: TokenizerJson, config: Record<string, unknown>, where: string, decoding: Decoding = "slow"): WordPieceTokenizer {
    const model = json.model as (TokenizerJson["model"] & { continuing_subword_prefix?: string; unk_token?: string }) | undefined;
    if (model?.type !== "WordPiece" || !model.vocab) {
      throw new VitlensError(`${where}: model type ${JSON.stringify(model?.type)} is not supported (expected BERT's "WordPiece")`);
    }
    const prefix = model.continuing_subword_prefix ?? "##";
    const vocab = new Map<string, number>(Object.entries(model.vocab));
    const added = json.added_tokens ?? [];
    for (const t of added) vocab.set(t.content, t.id);
    const ids = {} as BertSpecialIds;
    for (const [k, name] of Object.entries(SPECIAL_NAMES) as Array<[keyof BertSpecialIds, string]>) {
      const content = tokenContent(config[name]) ?? (k === "unk" ? model.unk_token : undefined) ?? SPECIAL_DEFAULTS[k];
      const id = vocab.get(content);
      if (id === undefined) throw new VitlensError(`${where}: the vocabulary has no ${content} (BERT's ${name})`);
      ids[k] = id;
    }
    // transformers 4.36's default is true, transformers 5's false
    const cleanUp = decoding === "slow" ? config.clean_up_tokenization_spaces !== false : config.clean_up_tokenization_spaces === true;
    // The slow tokenizer joins pieces and cleans up the whole text once; transformers 5 keeps the
    // tokenizer's own decoder (which cleans up each piece) and the whole-text clean-up only when set.
    const full = decoding === "slow" ? { ...json, decoder: { type: "WordPiece", prefix, cleanup: false } } : { ...json, decoder: json.decoder ?? { type: "WordPiece", prefix, cleanup: true } };
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(full, { ...config, clean_up_tokenization_spaces: cleanUp });
    } catch (e) {
      throw new VitlensError(`${where}: the tokenizer could not be built: ${(e as Error).message}`);
    }
    const size = Math.max(...vocab.values()) + 1;
    const special = new Set([...added.filter((t) => t.special).map((t) => t.id), ...Object.values(ids)]);
    return new WordPieceTokenizer(tok, size, ids, special, prefix, cleanUp);
  }

  /** Ids of a text; `special` adds [CLS] before and [SEP] after, as BERT's encode() does by default. */
  encode(text: string, o: { special?: boolean } = {}): number[] {
    const ids = text ? this.tok.encode(text, { add_special_tokens: false }).ids : [];
    return o.special ? [this.ids.cls, ...ids, this.ids.sep] : ids;
  }

  /**
   * Generated ids grouped into words as the caption shows them: a `##` piece continues the word
   * before it, any other piece (punctuation too) starts a word; special tokens belong to none.
   */
  words(ids: number[]): WordGroup[] {
    const groups: WordGroup[] = [];
    ids.forEach((id, i) => {
      if (this.special.has(id)) return;
      const last = groups[groups.length - 1];
      if (last && this.piece(id).startsWith(this.prefix)) last.pieces.push(i);
      else groups.push({ word: "", pieces: [i] });
    });
    for (const g of groups) g.word = this.decode(g.pieces.map((i) => ids[i]), { cleanUp: false });
    return groups.filter((g) => g.word.length > 0);
  }
}

/**
 * vocab.txt as transformers' load_vocab reads it: one token per line (Python's universal
 * newlines), the line number is the id.
 */
export function readVocabTxt(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new VitlensError(`${path}: cannot read the vocabulary (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new VitlensError(`${path}: the vocabulary is empty (expected one token per line)`);
  return lines;
}

/** How ids become text: as transformers 4.36's slow BertTokenizer, or as transformers 5. */
export type Decoding = "slow" | "transformers-5";

/** Tokens beyond vocab.txt (added_tokens.json: BLIP's [DEC], [ENC]) as special added tokens. */
export function addSpecialTokens(json: TokenizerJson, tokens: Array<{ content: string; id: number }>): void {
  const known = new Set((json.added_tokens ?? []).map((t) => t.content));
  json.added_tokens = [...(json.added_tokens ?? []), ...tokens.filter((t) => !known.has(t.content)).map(({ content, id }) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }))].sort((a, b) => a.id - b.id);
}

/**
 * The tokenizer.json transformers' BertConverter writes for a vocab.txt: BertNormalizer (lower
 * case, accents stripped and CJK characters split unless tokenizer_config.json says otherwise),
 * BertPreTokenizer, WordPiece with `##` and [UNK], [CLS] ... [SEP] around a single text, the
 * five special tokens as special added tokens.
 */
export function wordPieceJson(tokens: string[], config: Record<string, unknown>, where: string): TokenizerJson {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i)); // a repeated token keeps its last line, as in load_vocab
  const name = (k: keyof BertSpecialIds) => tokenContent(config[SPECIAL_NAMES[k]]) ?? SPECIAL_DEFAULTS[k];
  for (const k of Object.keys(SPECIAL_NAMES) as Array<keyof BertSpecialIds>) {
    if (!(name(k) in vocab)) throw new VitlensError(`${where}: the vocabulary has no ${name(k)} (BERT's ${SPECIAL_NAMES[k]})`);
  }
  const specials = [...new Set((Object.keys(SPECIAL_NAMES) as Array<keyof BertSpecialIds>).map(name))];
  const added = specials.map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  })).sort((a, b) => a.id - b.id);
  const [cls, sep] = [name("cls"), name("sep")];
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: added,
    normalizer: {
      type: "BertNormalizer", clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars !== false,
      strip_accents: typeof config.strip_accents === "boolean" ? config.strip_accents : null,
      lowercase: config.do_lower_case !== false,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } }],
      special_tokens: { [cls]: { id: cls, ids: [vocab[cls]], tokens: [cls] }, [sep]: { id: sep, ids: [vocab[sep]], tokens: [sep] } },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: name("unk"), continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab } as TokenizerJson["model"],
  };
}

/**
 * A stand-in vocabulary of `size` ids laid out like bert-base-uncased's (for presets with random
 * weights, which need no download): [PAD] 0, [unused0..98] 1..99, [UNK] 100, [CLS] 101, [SEP] 102,
 * [MASK] 103, [unused99..993] up to 998, then made-up words `w<id>` and, every fourth id, pieces `##<id>`.
 */
export function bertLikeVocabulary(size: number): string[] {
  if (size < 104) throw new VitlensError(`a BERT-like vocabulary needs at least 104 ids ([PAD] ... [MASK]), not ${size}`);
  return Array.from({ length: size }, (_, i) => {
    if (i === 0) return "[PAD]";
    if (i < 100) return `[unused${i - 1}]`;
    if (i <= 103) return ["[UNK]", "[CLS]", "[SEP]", "[MASK]"][i - 100];
    if (i <= 998) return `[unused${i - 5}]`;
    return i % 4 === 0 ? `##${i}` : `w${i}`;
  });
}

/** CATR's tokenizer (its predict.py: BertTokenizer.from_pretrained('bert-base-uncased')). */
export const CATR_TOKENIZER = "bert-base-uncased";

/**
 * --tokenizer: a vocab.txt, a tokenizer.json, a folder holding either, or a Hugging Face Hub id
 * (bert-base-uncased, owner/name[@revision]) fetched into the hub cache.
 */
export async function resolveWordPieceTokenizer(spec: string, opts: HubOptions): Promise<WordPieceTokenizer> {
  if (existsSync(spec)) return WordPieceTokenizer.load(spec);
  return WordPieceTokenizer.load(await downloadTokenizer(spec, opts, ["vocab.txt"]));
}
