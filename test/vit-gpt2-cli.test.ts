// `vitlens caption` with Hugging Face ViT + GPT-2 captioners: a folder, a Hub id through the
// stand-in hub, the shared output format (--json words/tokens, --raw maps and cls_share), bad input.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadHfCaptioner } from "../src/caption/hf-captioner.js";
import { loadAnyCaptioner } from "../src/caption/load-any.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { startVitlens } from "./cli-child.js";
import { FakeHub } from "./hub-server.js";
import { fixture } from "./helpers.js";

const meta = JSON.parse(readFileSync(fixture("vit-gpt2.expected.json"), "utf8")) as { generate: Record<string, { ids: number[]; text: string }> };
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
const folderFiles = (name: string) => new Map(readdirSync(fixture(name)).map((f) => [f, readFileSync(fixture(name, f))]));

/** `vitlens ARGS` as a child (the stand-in hub answers from this process meanwhile); HF_HUB_OFFLINE cleared. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await startVitlens(args, { HF_HUB_OFFLINE: "", ...env }).done;
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Line { image: string; caption: string; words: string[]; tokens: string[]; score: number }

describe("vitlens caption with a ViT + GPT-2 VisionEncoderDecoder", () => {
  let hub: FakeHub;
  let endpoint: string;
  before(async () => {
    hub = new FakeHub(new Map([["owner/tiny-vit-gpt2", { commit: COMMIT, files: folderFiles("vit-gpt2-tiny") }]]), "hf_secret");
    endpoint = await hub.start();
  });
  after(async () => hub.stop());

  it("--model owner/tiny-vit-gpt2 downloads into the HF cache and captions like the local folder and the reference", async () => {
    const home = mkdtempSync(join(tmpdir(), "vitlens-hf-"));
    const images = [fixture("vit-gpt2-cat.png"), fixture("vit-gpt2-rocket.png")];
    const online = await run(["caption", "--model", "owner/tiny-vit-gpt2", "--json", ...images], { HF_HOME: home, HF_ENDPOINT: endpoint });
    assert.equal(online.code, 0, online.stderr);
    const snapshot = join(home, "hub", "models--owner--tiny-vit-gpt2", "snapshots", COMMIT);
    for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "model.safetensors"]) {
      assert.ok(existsSync(join(snapshot, f)), `${f} in the HF cache`);
    }
    const local = await run(["caption", "--model", fixture("vit-gpt2-tiny"), "--json", ...images]);
    assert.equal(online.stdout, local.stdout);
    const lines = online.stdout.trim().split("\n").map((l) => JSON.parse(l) as Line);
    assert.deepEqual(Object.keys(lines[0]), ["image", "caption", "words", "tokens", "score"]);
    // The folder's generation_config.json: greedy, max_length 20, as the reference generated.
    assert.equal(lines[0].caption, meta.generate["tiny/greedy/cat"].text);
    assert.equal(lines[1].caption, meta.generate["tiny/greedy/rocket"].text);
    assert.deepEqual(lines[0].words, ["A", "cat", "lying", "on", "a", "red", "blanket."]);
    assert.equal(lines[0].tokens.length, meta.generate["tiny/greedy/cat"].ids.length - 2, "pieces: the ids without the start token and EOS");
    assert.equal(lines[0].tokens.join("").replace(/Ġ/g, " "), lines[0].caption);
  });

  it("--beam, --max-len and --raw: maps (words, layers, heads, gh, gw) and cls_share that sum with the map to 1", async () => {
    const out = mkdtempSync(join(tmpdir(), "vitlens-vitgpt2-"));
    const r = await run(["caption", "--model", fixture("vit-gpt2-tiny-bin"), "--beam", "4", "--max-len", "7", "--length-penalty", "2", "--json", "--raw", "--out", out, fixture("vit-gpt2-cat.png")]);
    assert.equal(r.code, 0, r.stderr);
    const line = JSON.parse(r.stdout) as Line;
    // The reference's num_beams 4, max_length 8 (= the start token + 7), length_penalty 2.0
    assert.equal(line.caption, meta.generate["bin/beam4-short/cat"].text);
    const raw = readSafetensors(join(out, "vit-gpt2-cat.caption.safetensors")).tensors;
    const maps = raw.get("maps")!;
    const cls = raw.get("cls_share")!;
    assert.deepEqual(maps.shape, [line.words.length, 2, 4, 4, 4]);
    assert.deepEqual(cls.shape, [line.words.length, 2, 4]);
    for (let i = 0; i < cls.data.length; i++) {
      let sum = cls.data[i];
      for (let j = 0; j < 16; j++) sum += maps.data[i * 16 + j];
      assert.ok(Math.abs(sum - 1) < 1e-5, `word/layer/head ${i}: CLS share + patches = ${sum}`);
    }
    assert.ok(existsSync(join(out, "vit-gpt2-cat.caption.png")));
    const saved = JSON.parse(readFileSync(join(out, "captions.json"), "utf8")) as Array<Line & { strip: string }>;
    assert.deepEqual(saved[0].words, line.words);
  });

  it("bad input: one line naming the model_type, the tokenizer size, the missing start token; unsupported settings warned", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-vitgpt2-bad-"));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits of nested JSON
    const copy = (name: string, edit: (cfg: Record<string, any>) => void, file = "config.json") => {
      const d = join(dir, name);
      cpSync(fixture("vit-gpt2-tiny"), d, { recursive: true });
      const cfg = JSON.parse(readFileSync(join(d, file), "utf8"));
      edit(cfg);
      writeFileSync(join(d, file), JSON.stringify(cfg));
      return d;
    };
    assert.throws(() => loadAnyCaptioner(copy("bert", (c) => (c.decoder.model_type = "bert"))), /decoder model_type "bert" is not supported .*GPT-2/);
    assert.throws(() => loadAnyCaptioner(copy("deit", (c) => (c.encoder.model_type = "deit"))), /encoder model_type "deit" is not supported .*ViT/);
    assert.throws(() => loadAnyCaptioner(copy("vocab", (c) => (c.decoder.vocab_size = 300))), /key decoder\.transformer\.wte\.weight has shape \(297, 24\), expected \(300, 24\)/);
    const tok = copy("tok", (t) => { delete t.model.vocab["<|endoftext|>"]; t.added_tokens[0].id = 300; }, "tokenizer.json");
    assert.throws(() => loadAnyCaptioner(tok), /the tokenizer has 301 tokens but the decoder's vocab_size is 297/);
    const noStart = copy("nostart", (g) => { delete g.decoder_start_token_id; delete g.bos_token_id; }, "generation_config.json");
    assert.throws(() => loadAnyCaptioner(noStart), /no decoder_start_token_id \(nor bos_token_id\)/);
    const warnings: string[] = [];
    const sampled = copy("sample", (g) => Object.assign(g, { do_sample: true, top_k: 5, num_beams: 2 }), "generation_config.json");
    const cap = loadHfCaptioner(sampled, { warn: (l) => warnings.push(l) });
    assert.equal(cap.generation.numBeams, 2);
    assert.match(warnings.join("\n"), /generation_config\.json: ignoring generation settings vitlens does not implement: do_sample=true/);
    rmSync(join(dir, "sample", "generation_config.json"));
    assert.equal(loadHfCaptioner(join(dir, "sample")).generation.maxLength, 20, "no generation_config.json: config.json's fields, else HF's defaults");
    const r = await run(["caption", "--model", join(dir, "bert"), "--json", fixture("vit-gpt2-cat.png")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^vitlens: error: .*config\.json: decoder model_type "bert" is not supported[^\n]*\n$/);
  });

  it("train-captioner --init fine-tunes the GPT-2 captioner and writes the HF layout back (best/ loads again, same keys)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-vitgpt2-ft-"));
    const names = ["cat", "coffee", "astronaut", "rocket"];
    const texts = ["A cat lying on a red blanket.", "Two cups of coffee on a table.", "An astronaut holding a flag.", "A rocket on the launch pad."];
    for (const n of names) cpSync(fixture(`vit-gpt2-${n}.png`), join(dir, `${n}.png`));
    const coco = (k: number) => ({ images: names.slice(0, k).map((n, i) => ({ id: i, file_name: `${n}.png` })), annotations: texts.slice(0, k).map((c, i) => ({ id: i, image_id: i, caption: c })) });
    writeFileSync(join(dir, "train.json"), JSON.stringify(coco(4)));
    writeFileSync(join(dir, "val.json"), JSON.stringify(coco(2)));
    const runDir = join(dir, "run");
    const both = await run_(["--init", fixture("vit-gpt2-tiny"), "--encoder", fixture("hf-tiny")]);
    assert.match(both.stderr, /give --init or --encoder, not both/);
    const r = await run_(["--init", fixture("vit-gpt2-tiny"), "--freeze-encoder"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /vocabulary 297 BPE pieces/);
    const metrics = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(metrics.some((m) => m.type === "epoch" && typeof m.val_bleu4 === "number"));
    const source = readSafetensors(fixture("vit-gpt2-tiny", "model.safetensors")).tensors;
    const best = readSafetensors(join(runDir, "best", "model.safetensors")).tensors;
    assert.deepEqual([...best.keys()].sort(), [...source.keys()].sort());
    const enc = "encoder.encoder.layer.0.attention.attention.query.weight";
    assert.deepEqual(Array.from(best.get(enc)!.data), Array.from(source.get(enc)!.data), "--freeze-encoder leaves the encoder as it was");
    const wte = "decoder.transformer.wte.weight";
    assert.notDeepEqual(Array.from(best.get(wte)!.data), Array.from(source.get(wte)!.data), "the decoder was trained");
    const cap = loadHfCaptioner(join(runDir, "best"));
    assert.equal(cap.tokenizer.size, 297);
    const c = await run(["caption", "--model", runDir, "--json", fixture("vit-gpt2-cat.png")]);
    assert.equal(c.code, 0, c.stderr);
    // Scored like the references (lowercase words, punctuation apart): the fixture repeats three of
    // its four training captions exactly (it calls the coffee photo an astronaut's).
    const e = await run(["eval-captioner", "--model", fixture("vit-gpt2-tiny"), "--captions", join(dir, "train.json"), "--images", dir, "--json"]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(JSON.parse(e.stdout).exactMatch, 0.75);

    function run_(extra: string[]) {
      return run(["train-captioner", ...extra, "--captions", join(dir, "train.json"), "--images", dir, "--val", join(dir, "val.json"),
        "--out", runDir, "--epochs", "1", "--batch-size", "2", "--lr", "1e-3", "--warmup-steps", "0"]);
    }
  });
});
