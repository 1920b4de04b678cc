import { VitlensError } from "../errors.js";

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const UNK = 3;
const SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"];

/** Lowercased words, with punctuation split off as tokens of its own. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Word-level vocabulary: <pad> <bos> <eos> <unk>, then words by falling frequency (ties alphabetical). */
export class Vocabulary {
  private index: Map<string, number>;

  constructor(readonly tokens: string[]) {
    SPECIALS.forEach((s, i) => {
      if (tokens[i] !== s) throw new VitlensError(`vocabulary: token ${i} must be ${s}, got ${JSON.stringify(tokens[i])}`);
    });
    this.index = new Map(tokens.map((t, i) => [t, i]));
    if (this.index.size !== tokens.length) throw new VitlensError("vocabulary: a token appears twice");
  }

  static build(captions: string[], minFrequency = 1): Vocabulary {
    const counts = new Map<string, number>();
    for (const caption of captions) for (const w of tokenize(caption)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words = [...counts].filter(([, n]) => n >= minFrequency).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
    return new Vocabulary([...SPECIALS, ...words.filter((w) => !SPECIALS.includes(w))]);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Word ids, without <bos>/<eos>; unknown words become <unk>. */
  encode(text: string): number[] {
    return tokenize(text).map((w) => this.index.get(w) ?? UNK);
  }

  word(id: number): string {
    return this.tokens[id] ?? "<unk>";
  }

  /** A readable sentence: words joined by spaces, punctuation attached to the word before it. */
  decode(ids: number[]): string {
    return ids.map((id) => this.word(id)).join(" ").replace(/ ([.,!?;:])/g, "$1");
  }

  toJson(): { tokens: string[] } {
    return { tokens: this.tokens };
  }

  static fromJson(json: unknown, file: string): Vocabulary {
    const tokens = (json as { tokens?: unknown })?.tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === "string")) {
      throw new VitlensError(`${file}: expected {"tokens": [string, ...]}`);
    }
    try {
      return new Vocabulary(tokens as string[]);
    } catch (e) {
      throw new VitlensError(`${file}: ${(e as Error).message}`);
    }
  }
}
