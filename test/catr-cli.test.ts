// `vitlens caption --model <CATR .pth>`: CATR's preprocessing (long side 299), greedy captions in
// the shared --json format, strips and --raw maps on CATR's feature grid, beam search, the flags a
// CATR checkpoint needs (--tokenizer, --heads, --no-dilation) and one-line refusals.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadCatrCaptioner } from "../src/caption/catr-captioner.js";
import { captionImages } from "../src/caption/evaluate.js";
import { WordPieceTokenizer } from "../src/caption/wordpiece-tokenizer.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { getBackend } from "../src/backend/index.js";
import { readFileSync } from "node:fs";
import { call, postJson, serve } from "./serve-helpers.js";
import { fixture, root } from "./helpers.js";

function vitlens(cwd: string, ...args: string[]) {
  return vitlensWith({}, cwd, ...args);
}

function vitlensWith(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", cwd, env: { ...process.env, OMP_NUM_THREADS: "1", ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const model = fixture("catr", "catr-tiny.pth");
const vocab = fixture("catr", "vocab.txt");
const image = fixture("catr", "photo-0.png"); // 128 x 96: CATR's preprocessing scales it to 299 x 224

interface Record { image: string; caption: string; words: string[]; tokens: string[]; score: number }

describe("caption --model <CATR checkpoint>", () => {
  it("greedy by default: the library's caption, strips, and --raw maps (words, layers, heads, 14, 19)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "vitlens-catr-"));
    const out = join(cwd, "strips");
    const r = vitlens(cwd, "caption", "--model", model, "--tokenizer", vocab, "--json", "--raw", "--out", out, image);
    assert.equal(r.code, 0, r.stderr);
    const line = JSON.parse(r.stdout.trim()) as Record;
    assert.deepEqual(Object.keys(line), ["image", "caption", "words", "tokens", "score"]);
    const cap = loadCatrCaptioner(model, WordPieceTokenizer.load(vocab));
    const [lib] = await captionImages(cap, [image], { layer: "last", head: "mean" }, getBackend());
    assert.equal(line.caption, lib.caption);
    assert.deepEqual(line.words, lib.words);
    assert.ok(line.words.length > 0);
    assert.equal(line.caption[0], line.caption[0].toUpperCase());
    assert.deepEqual(lib.inputSize, [224, 299]);
    assert.ok(existsSync(join(out, "photo-0.caption.png")));
    const raw = readSafetensors(join(out, "photo-0.caption.safetensors")).tensors;
    // 224 x 299 -> stride 16 with layer4 dilated: 14 x 19.
    assert.deepEqual(raw.get("maps")!.shape, [line.words.length, 2, 8, 14, 19]);
    assert.ok(raw.get("cls_share")!.data.every((v) => v === 0)); // CATR has no CLS token
  });

  it("--beam 3 and --heads 4 change the search and the model; --max-len caps the tokens", () => {
    const cwd = mkdtempSync(join(tmpdir(), "vitlens-catr-"));
    const greedy = vitlens(cwd, "caption", "--model", model, "--tokenizer", vocab, "--json", "--max-len", "3", image);
    assert.equal(greedy.code, 0, greedy.stderr);
    assert.ok((JSON.parse(greedy.stdout) as Record).tokens.length <= 3);
    const beam = vitlens(cwd, "caption", "--model", model, "--tokenizer", vocab, "--json", "--beam", "3", "--max-len", "3", image);
    assert.equal(beam.code, 0, beam.stderr);
    const heads = vitlens(cwd, "caption", "--model", model, "--tokenizer", vocab, "--json", "--heads", "4", "--max-len", "3", image);
    assert.equal(heads.code, 0, heads.stderr);
    assert.notEqual((JSON.parse(heads.stdout) as Record).score, (JSON.parse(greedy.stdout) as Record).score);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ["a .pth that is not CATR's", ["--model", fixture("timm-tiny.pth"), "--tokenizer", vocab], /^vitlens: error: .*timm-tiny\.pth: not a CATR checkpoint \(no backbone\.0\.body, input_proj, .*\)\n$/],
    ["heads that do not divide the width", ["--model", model, "--tokenizer", vocab, "--heads", "3"], /^vitlens: error: --heads 3: must divide the hidden width 16 of .*catr-tiny\.pth\n$/],
    ["a vocabulary of another size", ["--model", model, "--tokenizer", fixture("wordpiece", "vocab.txt")], /^vitlens: error: .*catr-tiny\.pth: transformer\.embeddings\.word_embeddings\.weight: the word embedding has 165 rows but the tokenizer has \d+ ids/],
    ["a dilated BasicBlock ResNet", ["--model", fixture("catr", "catr-tiny-postnorm.pth"), "--tokenizer", vocab], /^vitlens: error: .*BasicBlock ResNet \(18\/34\) cannot dilate layer4 .*--no-dilation.*\n$/],
    ["CATR flags on a captioner folder", ["--model", fixture("captioner-tiny"), "--tokenizer", vocab], /^vitlens: error: --tokenizer, --heads and --no-dilation apply to CATR checkpoints/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what} in one line`, () => {
      const cwd = mkdtempSync(join(tmpdir(), "vitlens-catr-"));
      const r = vitlens(cwd, "caption", ...args, "--json", image);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    });
  }

  it("catr-v3 is read from torch.hub's cache ($TORCH_HOME/hub/checkpoints) when torch.hub fetched it, offline", () => {
    const cwd = mkdtempSync(join(tmpdir(), "vitlens-catr-"));
    const checkpoints = join(cwd, "torch", "hub", "checkpoints");
    mkdirSync(checkpoints, { recursive: true });
    copyFileSync(model, join(checkpoints, "weight493084032.pth"));
    const env = { TORCH_HOME: join(cwd, "torch"), HF_HUB_OFFLINE: "1" };
    const r = vitlensWith(env, cwd, "caption", "--model", "catr-v3", "--tokenizer", vocab, "--json", image);
    assert.equal(r.code, 0, r.stderr);
    const direct = vitlens(cwd, "caption", "--model", model, "--tokenizer", vocab, "--json", image);
    assert.equal(r.stdout, direct.stdout);
    assert.ok(existsSync(join(checkpoints, "weight493084032.pth.sha256")));
    const missing = vitlensWith(env, cwd, "caption", "--model", "catr-v1", "--tokenizer", vocab, "--json", image);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  });

  it("--no-dilation runs the post-norm ResNet-18 checkpoint (torch.save's legacy format)", () => {
    const cwd = mkdtempSync(join(tmpdir(), "vitlens-catr-"));
    const r = vitlens(cwd, "caption", "--model", fixture("catr", "catr-tiny-postnorm.pth"), "--tokenizer", vocab, "--no-dilation", "--json", image);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("inspect --model <CATR checkpoint>", () => {
  const counts = readSafetensors(fixture("catr", "expected.safetensors")).tensors;
  for (const [file, flags, tag] of [["catr-tiny", [], ""], ["catr-tiny-postnorm", ["--no-dilation"], "postnorm."]] as const) {
    it(`${file}: --expand prints PyTorch's print(model) line for line; the total is PyTorch's parameter count`, () => {
      const r = vitlens(root, "inspect", "--model", fixture("catr", `${file}.pth`), "--expand", ...flags);
      assert.equal(r.code, 0, r.stderr);
      const tree = r.stdout.slice(0, r.stdout.indexOf("\n)\n") + 3);
      assert.equal(tree, readFileSync(fixture("catr", `${file}.print.txt`), "utf8"));
      const total = /\n {2}total +([\d,]+)\n/.exec(r.stdout)![1];
      assert.equal(Number(total.replace(/,/g, "")), counts.get(`${tag}parameters`)!.data[0]);
    });
  }

  it("folds repeated layers as PyTorch 2 does, and not the MLP's layers of different widths", () => {
    const r = vitlens(root, "inspect", "--model", fixture("catr", "catr-tiny.pth"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(0-1\): 2 x TransformerEncoderLayer\(/);
    assert.match(r.stdout, /\(0-1\): 2 x Linear\(in_features=16, out_features=16, bias=True\)\n {6}\(2\): Linear\(in_features=16, out_features=165, bias=True\)/);
    assert.match(r.stdout, /mlp\.layers\.2 \(Linear\) +2,805\n/);
  });
});

describe("serve --captioner <CATR checkpoint>", () => {
  it("the caption view gets caption --json's words and one map per word over the image's own grid", async () => {
    const r = vitlens(root, "caption", "--model", model, "--tokenizer", vocab, "--json", "--beam", "2", image);
    assert.equal(r.code, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as Record;
    const server = await serve({ captioner: model, captionerTokenizer: vocab });
    try {
      const info = await call(server, "/api/info");
      assert.equal((info.body.captioner as { heads: number }).heads, 8);
      const up = await call(server, "/api/images", { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array(readFileSync(image)) });
      const c = await postJson(server, "/api/caption", { image: up.body.id, beam: 2, layer: 1, head: "mean" });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      assert.equal(c.body.caption, expected.caption);
      assert.deepEqual(c.body.words, expected.words);
      assert.deepEqual(c.body.grid, [14, 19]);
      assert.ok((c.body.maps as number[][]).every((m) => m.length === 14 * 19));
      assert.ok((c.body.cls as number[]).every((v) => v === 0));
    } finally {
      await server.close();
    }
  });
});
