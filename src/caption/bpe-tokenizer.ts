import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { VitlensError } from "../errors.js";
import { readJson } from "../io/read-json.js";
import { SubwordTokenizer, tokenContent, type WordGroup } from "./tokenizer.js";

export type { WordGroup } from "./tokenizer.js";

/**
 * A Hugging Face tokenizer (GPT-2's byte-level BPE) through @huggingface/tokenizers: reads
 * tokenizer.json + tokenizer_config.json, or builds the same tokenizer.json in memory from
 * vocab.json + merges.txt. Decoding gives what transformers 4.36's
 * `tokenizer.decode(ids, skip_special_tokens=True)` gives, clean_up_tokenization_spaces included
 * (tokenizer_config.json's setting, else 4.36's default: true).
 */
export class BpeTokenizer extends SubwordTokenizer {
  constructor(tok: Tokenizer, size: number, special: Iterable<number>) {
    super(tok, size, special);
  }

  static load(dir: string): BpeTokenizer {
    const configPath = join(dir, "tokenizer_config.json");
    const config = existsSync(configPath) ? readJson(configPath) : {};
    const jsonPath = join(dir, "tokenizer.json");
    const json = existsSync(jsonPath) ? (readJson(jsonPath) as TokenizerJson) : fromVocabAndMerges(dir, config);
    return BpeTokenizer.fromJson(json, config, existsSync(jsonPath) ? jsonPath : dir);
  }

  /** From a tokenizer.json object and tokenizer_config.json's fields; `where` names them in errors. */
  static fromJson(json: TokenizerJson, config: Record<string, unknown>, where: string): BpeTokenizer {
    if (json.model?.type !== "BPE" || !json.model.vocab) {
      throw new VitlensError(`${where}: model type ${JSON.stringify(json.model?.type)} is not supported (expected GPT-2's byte-level "BPE")`);
    }
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(json, config);
    } catch (e) {
      throw new VitlensError(`${where}: the tokenizer could not be built: ${(e as Error).message}`);
    }
    const added = json.added_tokens ?? [];
    const ids = [...Object.values(json.model.vocab), ...added.map((t) => t.id)];
    const size = Math.max(...ids) + 1;
    return new BpeTokenizer(tok, size, added.filter((t) => t.special).map((t) => t.id));
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Generated ids grouped into words as the caption shows them: a piece whose text begins with
   * whitespace starts a new word; special tokens belong to none.
   */
  words(ids: number[]): WordGroup[] {
    const groups: WordGroup[] = [];
    ids.forEach((id, i) => {
      if (this.special.has(id)) return;
      const text = this.decode([id], { cleanUp: false });
      const last = groups[groups.length - 1];
      if (!last || /^\s/.test(text)) groups.push({ word: "", pieces: [i] });
      else last.pieces.push(i);
    });
    for (const g of groups) g.word = this.decode(g.pieces.map((i) => ids[i]), { cleanUp: false }).trim();
    return groups.filter((g) => g.word.length > 0);
  }
}

export interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  [key: string]: unknown;
}

/**
 * GPT-2's tokenizer.json from the slow tokenizer's files (what transformers' converter writes):
 * byte-level pre-tokenizer and decoder, BPE over vocab.json with merges.txt, the config's
 * bos/eos/unk/pad tokens as special added tokens.
 */
function fromVocabAndMerges(dir: string, config: Record<string, unknown>): TokenizerJson {
  const vocabPath = join(dir, "vocab.json");
  const mergesPath = join(dir, "merges.txt");
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new VitlensError(`${dir}: no tokenizer.json, and no vocab.json + merges.txt to build one from`);
  }
  const vocab = readJson(vocabPath) as Record<string, number>;
  const merges = readFileSync(mergesPath, "utf8").split("\n").filter((l, i) => l.trim() && !(i === 0 && l.startsWith("#version")));
  return byteLevelBpeJson(vocab, merges, config);
}

/** A byte-level BPE tokenizer.json over `vocab` and `merges`, the config's special tokens added. */
export function byteLevelBpeJson(vocab: Record<string, number>, merges: string[], config: Record<string, unknown>): TokenizerJson {
  const specialNames = ["bos_token", "eos_token", "unk_token", "pad_token"].map((k) => tokenContent(config[k])).filter((t): t is string => !!t);
  const added = [...new Set(specialNames)].filter((t) => t in vocab).map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true,
  }));
  const prefix = config.add_prefix_space === true;
  return {
    version: "1.0", added_tokens: added, normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: prefix, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges } as TokenizerJson["model"],
  };
}
