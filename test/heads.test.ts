// Issue 10, fault 3: a checkpoint that does not record its number of attention heads was loaded
// with a guess (1 head for 48 or 64 wide) and gave silently wrong logits. Now: --heads, then the
// config, then a timm/DeiT name whose width agrees, then the published widths, else one line.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { trainCaptioner, type CaptionerTrainOptions } from "../src/caption/trainer.js";
import { inferConfig } from "../src/checkpoint/config.js";
import { loadModel } from "../src/checkpoint/load.js";
import { VitlensError } from "../src/errors.js";
import type { Params } from "../src/tensor.js";
import { attentionCommand } from "../src/cli/attention.js";
import { benchCommand } from "../src/cli/bench.js";
import { convertCommand } from "../src/cli/convert.js";
import { evalCommand } from "../src/cli/eval.js";
import { inspectCommand } from "../src/cli/inspect.js";
import { pointingCommand } from "../src/cli/pointing.js";
import { posembCommand } from "../src/cli/posemb.js";
import { predictCommand } from "../src/cli/predict.js";
import { reportCommand } from "../src/cli/report.js";
import { trainCommand } from "../src/cli/train.js";
import { trainCaptionerCommand } from "../src/cli/train-captioner.js";
import { backends, expected, fixture, maxAbsDiff, root } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vitlens-heads-"));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8", env: { ...process.env, VITLENS_BACKEND: "js" } });
const ref = expected("heads.expected.safetensors");

/** The one-line refusal: names the file and the width, asks for --heads N. */
function refusesHeads(file: string, width: number) {
  return (e: unknown) => e instanceof VitlensError && !e.message.includes("\n") && e.message.includes(file)
    && e.message.includes(`${width}-wide`) && /pass --heads N/.test(e.message);
}

/** Shape-only state (the rules read shapes, never values): a one-block timm-named ViT. */
function shapes(width: number, mlp = 8): Params {
  const t = (...shape: number[]) => ({ data: new Float32Array(0), shape });
  return new Map([
    ["cls_token", t(1, 1, width)], ["pos_embed", t(1, 5, width)], ["patch_embed.proj.weight", t(width, 3, 16, 16)],
    ["blocks.0.attn.qkv.weight", t(3 * width, width)], ["blocks.0.mlp.fc1.weight", t(mlp, width)],
  ]);
}
const heads = (width: number, evidence: { explicit?: number; architecture?: string } = {}, numHeads?: number) =>
  inferConfig(shapes(width), `w${width}.safetensors`, numHeads ? { numHeads } : {}, evidence).numHeads;

describe("attention heads are never guessed silently", () => {
  for (const [file, width, H] of [["heads-48x3.lukemelas.pth", 48, 3], ["heads-64x4.lukemelas.pth", 64, 4], ["heads-48x3-timm", 48, 3]] as const) {
    it(`${file}: refused without --heads; with --heads ${H} the logits of PyTorch`, () => {
      assert.throws(() => loadModel(fixture(file)), refusesHeads(file, width));
      const loaded = loadModel(fixture(file), { heads: H });
      assert.equal(loaded.model.config.numHeads, H);
      for (const be of backends()) {
        const d = maxAbsDiff(loaded.model.forward(ref.get("pixels")!, be).logits!.data, ref.get(`logits.${width}x${H}`)!.data);
        assert.ok(d <= 1e-4, `${be.name}: logits differ by ${d}`);
      }
    });
  }

  it("--heads must divide the width; it overrides the config; Google's kernels are not overridden", () => {
    assert.throws(() => loadModel(fixture("heads-64x4.lukemelas.pth"), { heads: 5 }), /--heads 5: must divide the width 64/);
    assert.equal(loadModel(fixture("hf-tiny")).model.config.numHeads, 4);
    assert.equal(loadModel(fixture("hf-tiny"), { heads: 2 }).model.config.numHeads, 2);
    assert.throws(() => loadModel(fixture("timm-tiny.google.npz"), { heads: 2 }), /--heads 2: .*has 3 heads in its attention kernels/);
  });

  it("a timm/DeiT name gives the heads only when the weights have its width (old vit_small was 768 wide, 8 heads)", () => {
    assert.equal(heads(384, { architecture: "vit_small_patch16_224" }), 6);
    assert.equal(heads(192, { architecture: "deit_tiny_patch16_224" }), 3);
    assert.equal(heads(1280, { architecture: "vit_huge_patch14_224" }), 16);
    assert.equal(heads(768, { architecture: "vit_base_patch16_224.augreg_in21k" }), 12);
    assert.equal(heads(1024, { architecture: "vit_large_patch16_384" }), 16);
    assert.equal(heads(384, { architecture: "deit_small_distilled_patch16_224" }), 6);
    // neither the name's 6 nor the table's 12: the old model had 8
    assert.throws(() => heads(768, { architecture: "vit_small_patch16_224" }),
      (e: unknown) => e instanceof VitlensError && /"vit_small_patch16_224" names a 384-wide ViT but the weights are 768 wide.*pass --heads N/.test(e.message));
    assert.equal(heads(768, { architecture: "vit_small_patch16_224", explicit: 8 }), 8);
    assert.equal(heads(768, { architecture: "vit_small_patch16_224" }, 8), 8); // model_args.num_heads wins
    assert.equal(heads(48, { architecture: "vit_custom_patch2_8" }, 3), 3); // no family name: the config
  });

  it("published widths: 192:3, 384:6, 768:12, 1024:16, and 1280 is 16 heads of 80 (not 20 of 64)", () => {
    assert.deepEqual([192, 384, 768, 1024, 1280].map((w) => heads(w)), [3, 6, 12, 16, 16]);
    assert.throws(() => heads(640), refusesHeads("w640.safetensors", 640));
  });

  it("the command line: a one-line refusal, then --heads N on predict and convert; the written configs record the heads", () => {
    const img = fixture("hf-tiny-0.png");
    const bad = cli("predict", "--model", fixture("heads-64x4.lukemelas.pth"), img);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /^vitlens: error: .*heads-64x4\.lukemelas\.pth: 64-wide ViT .*pass --heads N$/m);
    const good = cli("predict", "--model", fixture("heads-64x4.lukemelas.pth"), "--heads", "4", "--json", img);
    assert.equal(good.status, 0, good.stderr);
    for (const to of ["hf", "timm"]) {
      const out = join(dir, to);
      const r = cli("convert", "--model", fixture("heads-48x3-timm"), "--heads", "3", "--to", to, "--out", out);
      assert.equal(r.status, 0, r.stderr);
      const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      assert.equal(to === "hf" ? cfg.num_attention_heads : cfg.model_args.num_heads, 3);
      const back = loadModel(out); // no --heads needed any more
      const d = maxAbsDiff(back.model.forward(ref.get("pixels")!, backends()[0]).logits!.data, ref.get("logits.48x3")!.data);
      assert.ok(d <= 1e-4, `${to}: logits differ by ${d}`);
    }
  });

  it("--labels FILE names the classes of any format; a wrong count is one line naming the file and both counts", () => {
    const names = join(dir, "names.txt");
    writeFileSync(names, "ant\nbee\ncat\ndog\nelk\n");
    assert.deepEqual(loadModel(fixture("heads-48x3.lukemelas.pth"), { heads: 3, labelsFile: names }).labels, ["ant", "bee", "cat", "dog", "elk"]);
    assert.deepEqual(loadModel(fixture("hf-tiny"), { labelsFile: names }).labels, ["ant", "bee", "cat", "dog", "elk"]);
    const short = join(dir, "short.txt");
    writeFileSync(short, "ant\nbee\n");
    assert.throws(() => loadModel(fixture("hf-tiny"), { labelsFile: short }),
      (e: unknown) => e instanceof VitlensError && e.message === `--labels ${short}: 2 name(s), but the checkpoint has 5 classes (one name per line expected)`);
  });

  it("train-captioner: the --encoder's heads come from --heads too, and the captioner folder records them", async () => {
    const images = join(dir, "captions");
    const { mkdirSync, copyFileSync } = await import("node:fs");
    mkdirSync(images, { recursive: true });
    for (const i of [0, 1]) copyFileSync(fixture(`torchvision-tiny-${i}.png`), join(images, `${i}.png`));
    const coco = join(images, "captions.json");
    writeFileSync(coco, JSON.stringify({
      images: [{ id: 0, file_name: "0.png" }, { id: 1, file_name: "1.png" }],
      annotations: [{ image_id: 0, caption: "a red thing" }, { image_id: 1, caption: "a blue thing" }],
    }));
    const options = (out: string, extra: Partial<CaptionerTrainOptions> = {}): CaptionerTrainOptions => ({
      captions: coco, images, val: null, valImages: null, valSplit: 0, encoder: fixture("heads-48x3.lukemelas.pth"),
      freezeEncoder: false, out, epochs: 1, batchSize: 2, optimizer: "adamw", lr: 1e-3, momentum: 0.9, weightDecay: 0, schedule: "constant",
      stepSize: 10, gamma: 0.5, warmupSteps: 0, clipGrad: 1, seed: 0, imageSize: null, decoderLayers: 1, decoderHidden: 8, decoderHeads: 2,
      decoderMlp: null, maxLength: null, minFrequency: 1, tieEmbeddings: true, evalImages: 0, strict: false, ...extra,
    });
    const quiet = { log: () => {}, startEpoch: () => {}, step: () => {}, endEpoch: () => {} };
    await assert.rejects(trainCaptioner(options(join(dir, "cap-no-heads")), jsBackend, quiet, () => false), refusesHeads("heads-48x3.lukemelas.pth", 48));
    await trainCaptioner(options(join(dir, "cap"), { checkpoint: { heads: 3 } }), jsBackend, quiet, () => false);
    assert.equal(JSON.parse(readFileSync(join(dir, "cap", "last", "config.json"), "utf8")).encoder.numHeads, 3);
  });

  it("every command that loads a ViT takes --heads, --labels and --crop-pct", () => {
    const commands = [predictCommand, evalCommand, trainCommand, inspectCommand, attentionCommand, posembCommand, pointingCommand,
      reportCommand, convertCommand, benchCommand, trainCaptionerCommand].map((make) => make());
    for (const cmd of commands) {
      const flags = cmd.options.map((o) => o.flags);
      for (const flag of ["--heads <n>", "--labels <file>", "--crop-pct <p>"]) assert.ok(flags.includes(flag), `${cmd.name()} lacks ${flag}`);
    }
  });
});
