// BERT WordPiece (CATR's tokenizer) against transformers' own BertTokenizer / BertTokenizerFast
// (scripts/reference/wordpiece.py): encoding, decode with and without the clean-up, words for
// per-word maps, Python's capitalize, the vocabulary-size check and the hub path.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { capitalizeFirst, checkVocabularySize } from "../src/caption/tokenizer.js";
import { bertLikeVocabulary, readVocabTxt, resolveWordPieceTokenizer, WordPieceTokenizer } from "../src/caption/wordpiece-tokenizer.js";
import { hubOptionsFromEnv } from "../src/hub/download.js";
import { parseTokenizerId } from "../src/hub/tokenizer-files.js";
import { FakeHub } from "./hub-server.js";
import { fixture } from "./helpers.js";

interface Expected {
  vocab_size: number;
  texts: Array<{ text: string; ids: number[]; ids_special: number[] }>;
  decodes: Array<{ ids: number[]; tokens: string[]; slow_clean: string; slow_raw: string; fast_clean: string; capitalized: string }>;
}
const want = JSON.parse(readFileSync(fixture("wordpiece", "expected.json"), "utf8")) as Expected;
const VOCAB = fixture("wordpiece", "vocab.txt");
const SOURCES = { "vocab.txt": VOCAB, "tokenizer.json": fixture("wordpiece", "json", "tokenizer.json"), folder: fixture("wordpiece", "json") };

describe("WordPiece tokenizer (transformers' BertTokenizer as reference)", () => {
  for (const [kind, path] of Object.entries(SOURCES)) {
    it(`${kind}: ids, decode (HF 4.36 skip_special_tokens=True) and size equal transformers'`, () => {
      const tok = WordPieceTokenizer.load(path);
      assert.equal(tok.size, want.vocab_size);
      assert.deepEqual(tok.ids, { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 });
      for (const c of want.texts) {
        assert.deepEqual(tok.encode(c.text), c.ids, c.text);
        assert.deepEqual(tok.encode(c.text, { special: true }), c.ids_special, c.text);
      }
      for (const d of want.decodes) {
        assert.equal(tok.decode(d.ids), d.slow_clean, d.tokens.join(" "));
        assert.equal(tok.decode(d.ids), d.fast_clean, d.tokens.join(" "));
        assert.equal(tok.decode(d.ids, { cleanUp: false }), d.slow_raw, d.tokens.join(" "));
        assert.equal(capitalizeFirst(tok.decode(d.ids)), d.capitalized);
      }
    });
  }

  it("decodes a CATR caption: ## pieces joined, [CLS]/[SEP]/[PAD] dropped, clean-up before punctuation", () => {
    const tok = WordPieceTokenizer.load(VOCAB);
    const ids = [tok.ids.cls, ...tok.encode("Two people on skis standing on a snowy hill."), tok.ids.sep, 0, 0];
    assert.equal(tok.decode(ids), "two people on skis standing on a snowy hill.");
    assert.equal(tok.decode(ids, { cleanUp: false }), "two people on skis standing on a snowy hill .");
    assert.equal(capitalizeFirst(tok.decode(ids)), "Two people on skis standing on a snowy hill.");
    assert.equal(tok.decode([tok.ids.cls, tok.ids.sep]), "");
    assert.deepEqual(tok.encode("snowboarding").map((id) => tok.piece(id)), ["snow", "##board", "##ing"]);
    assert.ok(tok.isSpecial(tok.ids.cls) && tok.isSpecial(tok.ids.unk) && tok.isSpecial(0) && !tok.isSpecial(1) && !tok.isSpecial(ids[1]));
  });

  it("words(): ## pieces merged into the word they continue, specials dropped, positions kept", () => {
    const tok = WordPieceTokenizer.load(VOCAB);
    const ids = [tok.ids.cls, ...tok.encode("two snowboarding skiers, isn't"), tok.ids.sep, tok.ids.pad];
    // [CLS] two snow ##board ##ing ski ##er ##s , isn ' t [SEP] [PAD]
    assert.deepEqual(tok.words(ids), [
      { word: "two", pieces: [1] }, { word: "snowboarding", pieces: [2, 3, 4] }, { word: "skiers", pieces: [5, 6, 7] },
      { word: ",", pieces: [8] }, { word: "isn", pieces: [9] }, { word: "'", pieces: [10] }, { word: "t", pieces: [11] },
    ]);
    // A caption that starts with a ## piece: it is a word of its own, as decode shows it.
    assert.deepEqual(tok.words(tok.encode("cats").slice(1)), [{ word: "##s", pieces: [0] }]);
  });

  it("capitalizeFirst is Python's str.capitalize (the rest lower-cased)", () => {
    assert.equal(capitalizeFirst("two people"), "Two people");
    assert.equal(capitalizeFirst("a [UNK] DOG"), "A [unk] dog");
    assert.equal(capitalizeFirst(""), "");
    assert.equal(capitalizeFirst("é"), "É");
  });

  it("tokenizer_config.json beside vocab.txt: do_lower_case false keeps case, clean_up false keeps spaces", () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-wp-"));
    writeFileSync(join(dir, "vocab.txt"), `${readFileSync(VOCAB, "utf8")}Two\n`);
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false, clean_up_tokenization_spaces: false }));
    const tok = WordPieceTokenizer.load(join(dir, "vocab.txt"));
    assert.equal(tok.size, want.vocab_size + 1);
    const ids = tok.encode("Two dogs.");
    assert.equal(ids[0], want.vocab_size);
    assert.equal(tok.decode(ids), "Two dogs .");
  });

  it("vocab.txt lines: Windows line ends and a missing final newline read as Python reads them", () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-wp-"));
    writeFileSync(join(dir, "crlf.txt"), "[PAD]\r\n[UNK]\r\nhi");
    assert.deepEqual(readVocabTxt(join(dir, "crlf.txt")), ["[PAD]", "[UNK]", "hi"]);
  });

  it("bad input: one-line errors naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-wp-"));
    writeFileSync(join(dir, "vocab.txt"), "[PAD]\nhello\n");
    assert.throws(() => WordPieceTokenizer.load(join(dir, "vocab.txt")), /vocab\.txt: the vocabulary has no \[UNK\] \(BERT's unk_token\)/);
    writeFileSync(join(dir, "empty.txt"), "");
    assert.throws(() => WordPieceTokenizer.load(join(dir, "empty.txt")), /empty\.txt: the vocabulary is empty/);
    assert.throws(() => WordPieceTokenizer.load(fixture("vit-gpt2-tiny", "tokenizer.json")), /tokenizer\.json: model type "BPE" is not supported \(expected BERT's "WordPiece"\)/);
    assert.throws(() => WordPieceTokenizer.load(join(dir, "nope")), /nope: no such tokenizer file or folder/);
    assert.throws(() => WordPieceTokenizer.load(fixture("hf-tiny")), /hf-tiny: no tokenizer\.json or vocab\.txt/);
  });

  it("bertLikeVocabulary: a stand-in with bert-base-uncased's layout and size, for presets", () => {
    const vocab = bertLikeVocabulary(30522);
    assert.deepEqual([vocab[0], vocab[1], vocab[99], vocab[100], vocab[101], vocab[102], vocab[103], vocab[104], vocab[998]],
      ["[PAD]", "[unused0]", "[unused98]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused99]", "[unused993]"]);
    const tok = WordPieceTokenizer.fromVocab(vocab, {}, "preset");
    assert.equal(tok.size, 30522);
    assert.deepEqual(tok.ids, { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 });
    assert.equal(tok.decode([101, 1001, 1002, 1004, 102]), "w1001 w10021004"); // ##1004 continues w1002
    assert.throws(() => bertLikeVocabulary(50), /at least 104 ids/);
  });

  it("checkVocabularySize: a word embedding of another size is a one-line error naming the checkpoint", () => {
    const tok = WordPieceTokenizer.load(VOCAB);
    checkVocabularySize(tok, want.vocab_size, "m.pth");
    assert.throws(() => checkVocabularySize(tok, 30522, "m.pth: transformer.embeddings.word_embeddings.weight"),
      /^VitlensError: m\.pth: transformer\.embeddings\.word_embeddings\.weight: the word embedding has 30522 rows but the tokenizer has 262 ids \(pass the vocabulary the model was trained with: --tokenizer\)$/);
  });
});

describe("WordPiece tokenizer from the Hugging Face Hub (local stand-in server)", () => {
  const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
  const files = (names: string[]) => new Map(names.map((f) => [f, readFileSync(fixture("wordpiece", "json", f))]));
  const hub = new FakeHub(new Map([
    ["acme/bert-tiny", { commit: COMMIT, files: files(["tokenizer.json", "tokenizer_config.json", "vocab.txt"]) }],
    ["acme/bert-vocab-only", { commit: COMMIT, files: files(["vocab.txt"]) }],
    ["acme/no-tokenizer", { commit: COMMIT, files: new Map([["README.md", Buffer.from("hi")]]) }],
  ]));
  let endpoint = "";
  const fresh = () => hubOptionsFromEnv({ HF_HOME: mkdtempSync(join(tmpdir(), "vitlens-hf-")), HF_ENDPOINT: endpoint });
  before(async () => (endpoint = await hub.start()));
  after(async () => hub.stop());

  it("a hub id (tokenizer.json preferred, vocab.txt otherwise) decodes as the local files do; offline reuses the cache", async () => {
    const opts = fresh();
    const d = want.decodes[1];
    for (const id of ["acme/bert-tiny", "acme/bert-vocab-only@main", `acme/bert-tiny@${COMMIT}`]) {
      const tok = await resolveWordPieceTokenizer(id, opts);
      assert.equal(tok.decode(d.ids), d.slow_clean, id);
      assert.equal(tok.size, want.vocab_size);
    }
    const before = hub.log.length;
    const offline = await resolveWordPieceTokenizer("acme/bert-tiny", { ...opts, offline: true });
    assert.equal(offline.decode(d.ids), d.slow_clean);
    assert.equal(hub.log.length, before, "offline: no request");
    await assert.rejects(resolveWordPieceTokenizer("acme/bert-vocab-only", { ...fresh(), offline: true }),
      /acme\/bert-vocab-only@main: no tokenizer\.json or vocab\.txt in the cache .* and HF_HUB_OFFLINE=1 forbids downloading them/);
    await assert.rejects(resolveWordPieceTokenizer("acme/no-tokenizer", fresh()), /acme\/no-tokenizer@main: the repository has no tokenizer\.json or vocab\.txt/);
    await assert.rejects(resolveWordPieceTokenizer("not a/valid id!", fresh()), /--tokenizer not a\/valid id!: no such file or folder, and not a Hugging Face Hub id/);
  });

  it("hub ids: bert-base-uncased (no owner), owner/name, @revision", () => {
    assert.deepEqual(parseTokenizerId("bert-base-uncased"), { repoId: "bert-base-uncased", revision: "main" });
    assert.deepEqual(parseTokenizerId("google-bert/bert-base-uncased@v1"), { repoId: "google-bert/bert-base-uncased", revision: "v1" });
    assert.equal(parseTokenizerId("../vocab.txt"), null);
    assert.equal(parseTokenizerId("/abs/vocab.txt"), null);
  });
});
