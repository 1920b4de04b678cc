// Captioning end to end: tokenizer, BLEU, teacher forcing, beam search bookkeeping, grounded
// grid data, train-captioner (learning, exact resume), caption / eval-captioner CLIs, bad input.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { corpusBleu } from "../src/caption/bleu.js";
import { loadCaptioner } from "../src/caption/captioner.js";
import { readCocoCaptions } from "../src/caption/coco.js";
import { scoreCaptions } from "../src/caption/evaluate.js";
import { generateCaption } from "../src/caption/decode.js";
import { reorderRows } from "../src/nn/reorder-rows.js";
import { decoderForward } from "../src/caption/decoder.js";
import { IGNORE } from "../src/caption/train-step.js";
import { teacherForcing, trainCaptioner, type CaptionerTrainOptions } from "../src/caption/trainer.js";
import { tokenize, Vocabulary } from "../src/caption/vocabulary.js";
import { readSafetensors } from "../src/checkpoint/safetensors.js";
import { openDataset } from "../src/data/datasets.js";
import { writeGrids } from "../src/data/grids.js";
import type { TrainReporter } from "../src/train/trainer.js";
import { expected, fixture, maxAbsDiff, root, writeIdxPair } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-caption-"));
const quiet: TrainReporter = { log: () => {}, startEpoch: () => {}, step: () => {}, endEpoch: () => {} };
const vitlens = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", env: { ...process.env, VITLENS_BACKEND: "js" } });

describe("captioning building blocks", () => {
  it("tokenizes lowercase words with punctuation split off, and builds a vocabulary by frequency", () => {
    assert.deepEqual(tokenize("Two people, on SKIS!"), ["two", "people", ",", "on", "skis", "!"]);
    const v = Vocabulary.build(["a bag above a bag.", "a coat", "rare"], 2);
    assert.deepEqual(v.tokens, ["<pad>", "<bos>", "<eos>", "<unk>", "a", "bag"]);
    assert.deepEqual(v.encode("A bag and a coat"), [4, 5, 3, 4, 3]);
    assert.equal(v.decode([4, 5, 3]), "a bag <unk>");
    assert.throws(() => Vocabulary.fromJson({ tokens: ["<bos>", "<pad>"] }, "v.json"), /v\.json: vocabulary: token 0 must be <pad>/);
  });

  it("BLEU-4: 1 for a perfect match, the geometric mean of clipped precisions otherwise, 0 without a 4-gram match", () => {
    assert.equal(corpusBleu([["the", "cat", "sat", "on", "the", "mat"]], [[["the", "cat", "sat", "on", "the", "mat"]]]), 1);
    const partial = corpusBleu([["a", "b", "c", "d", "e"]], [[["a", "b", "c", "d", "f"]]]);
    assert.ok(Math.abs(partial - Math.pow(0.8 * 0.75 * (2 / 3) * 0.5, 0.25)) < 1e-12);
    assert.equal(corpusBleu([["a", "b", "a", "b"]], [[["b", "a", "c", "d"]]]), 0);
    // Brevity penalty: a 3-word hypothesis against a 6-word reference.
    const short = corpusBleu([["a", "b", "c", "d"]], [[["a", "b", "c", "d", "e", "f"]]]);
    assert.ok(Math.abs(short - Math.exp(1 - 6 / 4)) < 1e-12);
  });

  it("grounding: a named item's map maximum in its cell is a hit; an item the image lacks is a strict miss", () => {
    const grid: [number, number] = [2, 2]; // a 2x2 patch grid over a 56x56 image of 28-px cells
    const map = (peak: number) => Float32Array.from([0, 1, 2, 3], (j) => (j === peak ? 1 : 0));
    const result = { image: "x.png", caption: "", tokens: ["a", "bag", "above", "a", "coat", "coat"], score: 0, maps: [0, 3, 0, 0, 2, 1].map(map), layerMaps: [], heads: 1, grid };
    const image = {
      imageId: 0, file: "x.png", width: 56, height: 56, captions: ["a bag above a boot"],
      items: [{ image_id: 0, label: 8, word: "bag", cell: [1, 1] as [number, number], box: [28, 28, 28, 28] as [number, number, number, number] },
        { image_id: 0, label: 9, word: "boot", cell: [0, 0] as [number, number], box: [0, 0, 28, 28] as [number, number, number, number] }],
    };
    const other = { ...image, items: [{ ...image.items[0], word: "coat" }] }; // makes "coat" an item word of the dataset
    const m = scoreCaptions([result], [image], 28);
    assert.deepEqual(m.grounding, { hits: 1, named: 1, misnamed: 0, share: 1, strictShare: 1 }, "bag peaks in (1,1): a hit; coat names no item of the data: not counted");
    const g = scoreCaptions([result, { ...result, tokens: [] }], [image, other], 28).grounding!;
    assert.deepEqual(g, { hits: 1, named: 1, misnamed: 2, share: 1, strictShare: 1 / 3 }, "with coat an item word elsewhere, the two coats this image lacks are strict misses");
  });

  it("teacher forcing: <bos> + words in, words + <eos> out, padding ignored", () => {
    const { ids, targets, T } = teacherForcing([[7, 8, 9], [5]], 10);
    assert.equal(T, 4);
    assert.deepEqual([...ids], [1, 7, 8, 9, 1, 5, 0, 0]);
    assert.deepEqual([...targets], [7, 8, 9, 2, 5, 2, IGNORE, IGNORE]);
  });

  it("beam search returns a hypothesis whose score, log-probability and maps match the full pass on its words", () => {
    const cap = loadCaptioner(fixture("captioner-tiny"));
    const ref = expected("captioner.expected.safetensors");
    const pixels = ref.get("pixels")!;
    const one = { data: pixels.data.subarray(0, pixels.data.length / 2), shape: [1, ...pixels.shape.slice(1)] };
    const tokens = cap.encoder.encode(one, jsBackend).tokens;
    const N = tokens.shape[1];
    const V = cap.decoderConfig.vocabSize;
    for (const beam of [2, 3]) {
      const gen = generateCaption(cap, tokens.data, N, { beam, maxLength: 7, lengthPenalty: 0.5 }, jsBackend);
      const ended = gen.tokens.length < 7;
      const fed = Int32Array.from([1, ...gen.tokens]);
      const full = decoderForward(jsBackend, cap.decoderConfig, cap.decoderParams, fed, 1, fed.length, tokens);
      let logProb = 0;
      [...gen.tokens, ...(ended ? [2] : [])].forEach((tok, t) => {
        const row = full.logits.data.subarray(t * V, (t + 1) * V);
        const max = Math.max(...row);
        logProb += row[tok] - (max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)));
      });
      assert.ok(Math.abs(gen.logProb - logProb) < 1e-4, `beam ${beam}: ${gen.logProb} vs ${logProb}`);
      const length = gen.tokens.length + (ended ? 1 : 0);
      assert.ok(Math.abs(gen.score - logProb / Math.pow(length, 0.5)) < 1e-4);
      const H = cap.decoderConfig.numHeads;
      gen.maps.forEach((perLayer, t) => perLayer.forEach((m, l) => {
        for (let h = 0; h < H; h++) {
          const want = full.crossAttentions[l].data.subarray((h * fed.length + t) * N, (h * fed.length + t + 1) * N);
          assert.ok(maxAbsDiff(m.subarray(h * N, (h + 1) * N), want) <= 1e-5, `beam ${beam} word ${t} layer ${l} head ${h}`);
        }
      }));
    }
    assert.throws(() => generateCaption(cap, tokens.data, N, { beam: 0, maxLength: 5, lengthPenalty: 1 }), /--beam 0: expected a whole number >= 1/);
  });
});

describe("grounded grids and train-captioner", () => {
  let data: string;
  const options = (out: string, extra: Partial<CaptionerTrainOptions> = {}): CaptionerTrainOptions => ({
    captions: join(data, "train.json"), images: data, val: join(data, "val.json"), valImages: null, valSplit: 0, encoder: fixture("hf-tiny"),
    freezeEncoder: false, out, epochs: 2, batchSize: 8, optimizer: "adamw", lr: 3e-3, momentum: 0.9, weightDecay: 0.01, schedule: "constant",
    stepSize: 10, gamma: 0.5, warmupSteps: 0, clipGrad: 1, seed: 0, imageSize: null, decoderLayers: 1, decoderHidden: 16, decoderHeads: 2,
    decoderMlp: null, maxLength: null, minFrequency: 1, tieEmbeddings: true, evalImages: 4, strict: false, ...extra,
  });

  before(async () => {
    // 10 "items": class k is a bright square of side 6 + 2k, so classes differ visibly.
    const idx = writeIdxPair(dir, "items", 30, 28, 28, (i) => i % 10, (i, k) => {
      const side = 6 + 2 * (i % 10);
      const [r, c] = [Math.floor(k / 28), k % 28];
      return Math.abs(r - 14) < side / 2 && Math.abs(c - 14) < side / 2 ? 220 : 10;
    });
    data = join(dir, "grids");
    await writeGrids(openDataset(idx), data, { count: 24, grid: 2, seed: 1, split: "train" });
    await writeGrids(openDataset(idx), data, { count: 6, grid: 3, seed: 2, split: "val" });
  });

  it("writes COCO captions naming both items and their relation, and each item's cell", () => {
    const coco = JSON.parse(readFileSync(join(data, "val.json"), "utf8"));
    assert.equal(coco.images.length, 6);
    assert.deepEqual(coco.images[0], { id: 0, file_name: "val/00000.png", width: 84, height: 84 });
    for (const a of coco.annotations) {
      const items = coco.items.filter((it: { image_id: number }) => it.image_id === a.image_id);
      assert.equal(items.length, 2);
      const [first, second] = items;
      const relation = first.cell[0] === second.cell[0] ? "left of" : "above";
      assert.equal(a.caption, `a ${first.word} ${relation} a ${second.word}`);
      assert.equal(Math.abs(first.cell[0] - second.cell[0]) + Math.abs(first.cell[1] - second.cell[1]), 1, "neighbouring cells");
    }
    const read = readCocoCaptions(join(data, "val.json"), data, true);
    assert.equal(read.images[0].items.length, 2);
  });

  it("trains (loss falls), writes metrics, best/ and last/, and resumes an interrupted run to identical weights", async () => {
    const straight = join(dir, "straight");
    const r = await trainCaptioner(options(straight), jsBackend, quiet, () => false);
    assert.equal(r.interrupted, false);
    const metrics = readFileSync(join(straight, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(metrics.length, 2);
    assert.ok(metrics[1].train_loss < metrics[0].train_loss, `loss ${metrics[0].train_loss} -> ${metrics[1].train_loss}`);
    for (const key of ["val_loss", "val_token_accuracy", "val_bleu4", "val_exact_match", "val_grounding"]) assert.equal(typeof metrics[1][key], "number", key);
    assert.ok(existsSync(join(straight, "best", "vocab.json")));
    loadCaptioner(join(straight, "best"));

    const frozen = join(dir, "frozen");
    await trainCaptioner(options(frozen, { freezeEncoder: true, epochs: 1 }), jsBackend, quiet, () => false);
    const encoderBefore = readSafetensors(fixture("hf-tiny", "model.safetensors")).tensors.get("vit.embeddings.patch_embeddings.projection.weight")!.data;
    const encoderAfter = readSafetensors(join(frozen, "last", "model.safetensors")).tensors.get("encoder.patch_embed.proj.weight")!.data;
    assert.deepEqual(encoderAfter, encoderBefore, "--freeze-encoder leaves the encoder as loaded");

    const broken = join(dir, "broken");
    let steps = 0;
    const first = await trainCaptioner(options(broken), jsBackend, { ...quiet, step: () => steps++ }, () => steps === 4);
    assert.equal(first.interrupted, true);
    await trainCaptioner({ resume: broken }, jsBackend, quiet, () => false);
    const a = readSafetensors(join(straight, "last", "model.safetensors")).tensors;
    const b = readSafetensors(join(broken, "last", "model.safetensors")).tensors;
    for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, `${name} differs after resume`);
  });

  it("missing images and empty captions are skipped and counted, or fail with --strict", () => {
    const coco = JSON.parse(readFileSync(join(data, "train.json"), "utf8"));
    coco.annotations.push({ id: 900, image_id: 0, caption: "   " });
    coco.images.push({ id: 999, file_name: "train/missing.png", width: 56, height: 56 });
    coco.annotations.push({ id: 901, image_id: 999, caption: "a bag above a coat" });
    const path = join(dir, "broken.json");
    writeFileSync(path, JSON.stringify(coco));
    const read = readCocoCaptions(path, data, false);
    assert.equal(read.skippedMissing, 1);
    assert.equal(read.skippedEmpty, 1);
    assert.throws(() => readCocoCaptions(path, data, true), /annotations\[24\] has an empty caption \(--strict\)/);
    coco.annotations.splice(24, 1);
    writeFileSync(path, JSON.stringify(coco));
    assert.throws(() => readCocoCaptions(path, data, true), /broken\.json: annotations\[24\]: image .*train\/missing\.png does not exist \(--strict\)/);
    coco.annotations.push({ id: 902, image_id: 12345, caption: "a" });
    writeFileSync(path, JSON.stringify(coco));
    assert.throws(() => readCocoCaptions(path, data, false), /annotations\[25\] points at image_id 12345, which is not in "images"/);
    writeFileSync(path, JSON.stringify({ images: [] }));
    assert.throws(() => readCocoCaptions(path, data, false), /expected COCO captions with "images"/);
  });

  it("CLI: train-captioner, caption (strips, --json, --raw, beam), eval-captioner, and bad input", () => {
    const run = join(dir, "cli-run");
    const t = vitlens("train-captioner", "--captions", join(data, "train.json"), "--images", data, "--val", join(data, "val.json"),
      "--encoder", fixture("hf-tiny"), "--out", run, "--epochs", "1", "--batch-size", "8", "--decoder-hidden", "16", "--decoder-layers", "1", "--eval-images", "3");
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /epoch 1\/1: train loss \d\.\d{4} acc [\d.]+%, val loss \d\.\d{4}, token acc [\d.]+%, BLEU-4 [\d.]+, exact [\d.]+% on 3 images, grounding [\d.]+% \(strict [\d.]+%; per layer [\d.]+%\)/);

    const out = join(dir, "captions");
    const images = [join(data, "val", "00000.png"), join(data, "val", "00001.png")];
    const c = vitlens("caption", "--model", run, "--out", out, "--beam", "2", "--json", "--raw", ...images);
    assert.equal(c.status, 0, c.stderr);
    const lines = c.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(Object.keys(lines[0]), ["image", "caption", "words", "tokens", "score"]);
    assert.equal(lines[0].caption, lines[0].tokens.join(" "));
    assert.deepEqual(lines[0].words, lines[0].tokens, "a word-level captioner: each token is a word");
    const raw = readSafetensors(join(out, "00000.caption.safetensors")).tensors.get("maps")!;
    assert.deepEqual(raw.shape, [lines[0].tokens.length, 1, 4, 4, 4], "(words, layers, heads, gh, gw): hf-tiny sees a 4x4 patch grid");
    assert.ok(existsSync(join(out, "00000.caption.png")) && existsSync(join(out, "captions.json")));
    const again = vitlens("caption", "--model", run, "--out", out, images[0]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /00000\.caption\.png: exists \(use --force to overwrite\)/);

    const e = vitlens("eval-captioner", "--model", run, "--captions", join(data, "val.json"), "--images", data, "--json");
    assert.equal(e.status, 0, e.stderr);
    const m = JSON.parse(e.stdout);
    assert.equal(m.images, 6);
    for (const k of ["exactMatch", "bleu4"]) assert.ok(m[k] >= 0 && m[k] <= 1, k);
    assert.ok(m.grounding.named + m.grounding.misnamed > 0 && m.grounding.hits <= m.grounding.named);
    assert.equal(m.grounding_per_layer.length, 1);

    const report = vitlens("report", run, "--gallery", "2");
    assert.equal(report.status, 0, report.stderr);
    const html = readFileSync(join(run, "report.html"), "utf8");
    assert.match(html, /held-out BLEU-4, epoch 1<br><b id="val-bleu4">\d\.\d{3}<\/b>/);
    assert.equal((html.match(/<figure class="strip">/g) ?? []).length, 2, "two held-out images with strips");

    const layer = vitlens("caption", "--model", run, "--out", out, "--force", "--layer", "3", images[0]);
    assert.match(layer.stderr, /--layer 3: the decoder has layers 0\.\.0 \(or "last"\)/);
    const beam0 = vitlens("caption", "--model", run, "--out", out, "--beam", "0", images[0]);
    assert.equal(beam0.status, 1);
    assert.match(beam0.stderr, /--beam.*expected a beam width >= 1/);
    const bad = join(dir, "bad-vocab");
    cpSync(join(run, "best"), bad, { recursive: true });
    const vocab = JSON.parse(readFileSync(join(bad, "vocab.json"), "utf8"));
    writeFileSync(join(bad, "vocab.json"), JSON.stringify({ tokens: vocab.tokens.slice(0, -1) }));
    const mismatch = vitlens("caption", "--model", bad, "--out", out, "--force", images[0]);
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /vocab\.json: \d+ tokens, but the model was trained with a vocabulary of \d+: this vocabulary does not belong to it/);
    const cfg = JSON.parse(readFileSync(join(bad, "config.json"), "utf8"));
    writeFileSync(join(bad, "vocab.json"), JSON.stringify(vocab));
    writeFileSync(join(bad, "config.json"), JSON.stringify({ ...cfg, decoder: { ...cfg.decoder, encoderHiddenSize: 48 } }));
    assert.match(vitlens("caption", "--model", bad, "--out", out, "--force", images[0]).stderr,
      /vitlens: error: .*model\.safetensors: key decoder\.layers\.0\.cross_attn\.kv\.weight has shape \(32, 32\), expected \(32, 48\) from config\.json/);
    writeFileSync(join(bad, "config.json"), JSON.stringify(cfg));
    rmSync(join(bad, "vocab.json"));
    assert.match(vitlens("caption", "--model", bad, "--out", out, "--force", images[0]).stderr, /no vocab\.json beside the captioner/);
  });
});

describe("beam cache reordering", () => {
  it("row i becomes old row parents[i], rows read by others copied before they are overwritten", () => {
    const rows = (vals: number[]) => Float32Array.from(vals.flatMap((v) => [v, v + 0.5]));
    const a = rows([0, 1, 2, 3]);
    const b = rows([10, 11, 12, 13]);
    reorderRows([a, b], [1, 0, 0, 2], 4);
    assert.deepEqual([...a], [...rows([1, 0, 0, 2])]);
    assert.deepEqual([...b], [...rows([11, 10, 10, 12])]);
    const same = rows([5, 6]);
    reorderRows([same], [0, 1], 2);
    assert.deepEqual([...same], [...rows([5, 6])]);
  });
});
