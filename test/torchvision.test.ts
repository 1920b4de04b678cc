// torchvision's VisionTransformer state dicts (scripts/reference/torchvision_vit.py, built with
// torchvision's own class): logits, predict on PNGs, one fine-tuning step, convert to HF.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { loadModel } from "../src/checkpoint/load.js";
import { VitlensError } from "../src/errors.js";
import { backends, expected, fixture, maxAbsDiff, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-torchvision-"));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", env: { ...process.env, VITLENS_BACKEND: "js" } });
const ref = expected("torchvision-tiny.expected.safetensors");
const tv = fixture("torchvision-tiny.pth");

describe("torchvision VisionTransformer checkpoints", () => {
  it("torchvision-tiny.pth (48 wide, 4 heads): refused without --heads, then torchvision's logits on both backends", () => {
    assert.throws(() => loadModel(tv), /torchvision-tiny\.pth: 48-wide ViT .*pass --heads N/);
    const loaded = loadModel(tv, { heads: 4 });
    assert.equal(loaded.format, "torchvision");
    assert.equal(loaded.model.config.layerNormEps, 1e-6);
    assert.deepEqual(loaded.model.config.imageSize, [16, 16]); // from encoder.pos_embedding
    assert.deepEqual(loaded.labels, ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"]);
    for (const be of backends()) {
      const d = maxAbsDiff(loaded.model.forward(ref.get("pixels")!, be).logits!.data, ref.get("logits")!.data);
      assert.ok(d <= 1e-4, `${be.name}: logits differ by ${d}`);
    }
  });

  it("the pre-0.13 MLP names (mlp.linear_1 / mlp.linear_2) give the same logits as torchvision", () => {
    const loaded = loadModel(fixture("torchvision-tiny.legacy-mlp.pth"), { heads: 2 });
    for (const be of backends()) {
      const d = maxAbsDiff(loaded.model.forward(ref.get("pixels")!, be).logits!.data, ref.get("legacy_logits")!.data);
      assert.ok(d <= 1e-4, `${be.name}: logits differ by ${d}`);
    }
  });

  it("heads.pre_logits (a Linear + tanh before the head) is refused in one line", () => {
    assert.throws(() => loadModel(fixture("torchvision-tiny.pre-logits.pth"), { heads: 2 }), (e: unknown) =>
      e instanceof VitlensError && !e.message.includes("\n") && /"heads\.pre_logits\.weight": torchvision's representation layer .* not supported/.test(e.message));
  });

  it("preprocessing: torchvision's ImageNet mean/std, bilinear, straight to the size; --crop-pct asks for shorter side then crop", () => {
    const p = loadModel(tv, { heads: 4 }).preprocess;
    assert.deepEqual(p.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(p.std, [0.229, 0.224, 0.225]);
    assert.equal(p.resample, "bilinear");
    assert.deepEqual(p.size, [16, 16]);
    assert.deepEqual(p.resize, { kind: "exact" });
    assert.deepEqual(loadModel(tv, { heads: 4, cropPct: 0.875 }).preprocess.resize, { kind: "shorter-then-crop", cropPct: 0.875 });
    assert.throws(() => loadModel(tv, { heads: 4, cropPct: 1.5 }), /--crop-pct 1\.5: expected a fraction in \(0, 1\]/);
  });

  it("predict --heads 4 --labels FILE on PNGs: torchvision's logits and the given names", () => {
    const names = join(dir, "names.txt");
    writeFileSync(names, "ant\nbee\ncat\ndog\nelk\n");
    const images = [0, 1].map((i) => fixture(`torchvision-tiny-${i}.png`));
    const r = cli("predict", "--model", tv, "--heads", "4", "--labels", names, "--json", ...images);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { logits: number[]; top: Array<{ label: string }> });
    const want = ref.get("image_logits")!.data;
    const d = maxAbsDiff(rows.flatMap((row) => row.logits), want);
    assert.ok(d <= 1e-4, `logits differ by ${d}`);
    for (const row of rows) assert.ok(["ant", "bee", "cat", "dog", "elk"].includes(row.top[0].label));
    const wrong = join(dir, "wrong.txt");
    writeFileSync(wrong, "ant\nbee\n");
    const bad = cli("predict", "--model", tv, "--heads", "4", "--labels", wrong, ...images);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim(), `vitlens: error: --labels ${wrong}: 2 name(s), but the checkpoint has 5 classes (one name per line expected)`);
  });

  it("convert --to hf records 4 heads; the HF folder reloads without --heads with the same logits", () => {
    const out = join(dir, "hf");
    const r = cli("convert", "--model", tv, "--heads", "4", "--to", "hf", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).num_attention_heads, 4);
    const pre = JSON.parse(readFileSync(join(out, "preprocessor_config.json"), "utf8"));
    assert.deepEqual([pre.image_mean, pre.image_std, pre.resample], [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 2]);
    const be = backends()[0];
    const a = loadModel(tv, { heads: 4 }).model.forward(ref.get("pixels")!, be).logits!.data;
    assert.deepEqual(loadModel(out).model.forward(ref.get("pixels")!, be).logits!.data, a);
  });

  it("convert --to timm --crop-pct 0.875 writes timm's crop_pct", () => {
    const out = join(dir, "timm");
    const r = cli("convert", "--model", tv, "--heads", "4", "--crop-pct", "0.875", "--to", "timm", "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.deepEqual([cfg.model_args.num_heads, cfg.pretrained_cfg.crop_pct, cfg.pretrained_cfg.interpolation], [4, 0.875, "bilinear"]);
    assert.deepEqual(loadModel(out).preprocess.resize, { kind: "shorter-then-crop", cropPct: 0.875 }); // and reads it back
  });

  it("fine-tunes one step with train --heads 4 on a tiny folder; the run's model records the heads", async () => {
    const data = join(dir, "data");
    for (const [c, cls] of ["dark", "light"].entries()) {
      mkdirSync(join(data, cls), { recursive: true });
      for (let i = 0; i < 2; i++) {
        await sharp(Buffer.alloc(16 * 16 * 3, 40 + 150 * c + 10 * i), { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(data, cls, `${i}.png`));
      }
    }
    const run = join(dir, "run");
    const t = cli("train", "--model", tv, "--heads", "4", "--data", data, "--val", data, "--epochs", "1", "--batch-size", "4", "--out", run);
    assert.equal(t.status, 0, t.stderr);
    const trained = loadModel(join(run, "last"));
    assert.equal(trained.model.config.numHeads, 4);
    assert.deepEqual(trained.labels, ["dark", "light"]);
    const before = loadModel(tv, { heads: 4 }).model.params.get("blocks.0.attn.qkv.weight")!.data;
    assert.notDeepEqual(trained.model.params.get("blocks.0.attn.qkv.weight")!.data, before); // a step was taken
  });
});
