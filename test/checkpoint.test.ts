// Loading checkpoints: formats, adaptation (new head, resampled position embeddings), writing
// the HF layout back, and the errors a user sees for wrong input.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { hfConfigJson, saveHfModel } from "../src/checkpoint/save-hf.js";
import { resamplePosEmbed } from "../src/checkpoint/posemb.js";
import { readSafetensors, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { loadModel } from "../src/checkpoint/load.js";
import { VitlensError } from "../src/errors.js";
import { expected, fixture, maxAbsDiff } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "vitlens-ckpt-"));

describe("position-embedding resampling", () => {
  it("matches torch F.interpolate(mode='bicubic', align_corners=False) on up, down and non-square grids", () => {
    const ref = expected("posemb-bicubic.expected.safetensors");
    const grid = ref.get("grid")!; // (1, D, gh, gw)
    const [, D, gh, gw] = grid.shape;
    // vitlens layout: (1, 1 + gh*gw, D) with a CLS row first.
    const pos = new Float32Array((1 + gh * gw) * D);
    pos.fill(42, 0, D);
    for (let d = 0; d < D; d++) for (let i = 0; i < gh * gw; i++) pos[D + i * D + d] = grid.data[d * gh * gw + i];
    for (const [name, t] of ref) {
      if (name === "grid") continue;
      const [, , nh, nw] = t.shape;
      const out = resamplePosEmbed({ data: pos, shape: [1, 1 + gh * gw, D] }, [gh, gw], [nh, nw]);
      assert.deepEqual(out.shape, [1, 1 + nh * nw, D]);
      assert.ok(out.data.subarray(0, D).every((v) => v === 42), "CLS position kept");
      const mine = new Float32Array(D * nh * nw);
      for (let d = 0; d < D; d++) for (let i = 0; i < nh * nw; i++) mine[d * nh * nw + i] = out.data[D + i * D + d];
      const diff = maxAbsDiff(mine, t.data);
      assert.ok(diff < 1e-5, `${name}: differs from torch by ${diff}`);
    }
  });
});

describe("loading and adapting checkpoints", () => {
  it("replaces the head when the class count differs, and says so", () => {
    const { model, notes, labels } = loadModel(fixture("hf-tiny"), { numClasses: 3, seed: 1 });
    assert.equal(model.config.numClasses, 3);
    assert.deepEqual(model.params.get("head.weight")!.shape, [3, 32]);
    assert.deepEqual(labels, ["LABEL_0", "LABEL_1", "LABEL_2"]);
    assert.ok(notes.some((n) => /new head: 3 classes \(checkpoint had 5\)/.test(n)));
    const { model: same, notes: none } = loadModel(fixture("hf-tiny"), { numClasses: 5 });
    assert.equal(same.config.numClasses, 5);
    assert.ok(!none.some((n) => n.includes("new head")));
    const original = loadModel(fixture("hf-tiny")).model.params.get("head.weight")!.data;
    const fresh = loadModel(fixture("hf-tiny"), { newHead: true, seed: 4 });
    assert.ok(fresh.notes.some((n) => /new head: 5 classes \(checkpoint had 5\)/.test(n)));
    assert.notDeepEqual(fresh.model.params.get("head.weight")!.data, original);
  });

  it("runs at another image size with resampled position embeddings; same size is a no-op", () => {
    const { model, notes } = loadModel(fixture("timm-tiny"), { imageSize: [32, 20] });
    assert.deepEqual(model.config.imageSize, [32, 20]);
    assert.deepEqual(model.params.get("pos_embed")!.shape, [1, 1 + 8 * 5, 24]);
    assert.ok(notes.some((n) => n.includes("from a 6x6 to a 8x5 patch grid")));
    const out = model.forward({ data: new Float32Array(2 * 3 * 32 * 20).fill(0.1), shape: [2, 3, 32, 20] }, jsBackend);
    assert.deepEqual(out.attentions[0].shape, [2, 3, 41, 41]);
    assert.ok(!notes.some((n) => n.includes("not whole")));
    // A size that is not whole patches: the remainder is dropped as the convolution drops it, and said
    const partial = loadModel(fixture("timm-tiny"), { imageSize: [26, 24] });
    assert.deepEqual(partial.model.params.get("pos_embed")!.shape, [1, 1 + 6 * 6, 24]);
    assert.ok(partial.notes.some((n) => n === "a 26x24 input is not whole 4-pixel patches: the last 2 pixel row(s) and 0 column(s) are dropped " +
      "(a 6x6 patch grid), as the patch convolution drops them; 24x24 or 28x24 uses every pixel"), partial.notes.join("\n"));
    const { model: orig } = loadModel(fixture("timm-tiny"), { imageSize: [24, 24] });
    const ref = readSafetensors(fixture("timm-tiny", "model.safetensors")).tensors.get("pos_embed")!;
    assert.deepEqual(orig.params.get("pos_embed")!.data, ref.data);
  });

  it("writes the HF layout back: same logits after save and load, HF names and config fields", () => {
    const loaded = loadModel(fixture("timm-tiny"));
    const out = join(tmp, "as-hf");
    saveHfModel(out, loaded.model, loaded.preprocess, loaded.labels);
    const keys = [...readSafetensors(join(out, "model.safetensors")).tensors.keys()];
    assert.ok(keys.includes("vit.encoder.layer.1.attention.attention.value.weight"));
    assert.ok(keys.includes("classifier.weight"));
    const back = loadModel(out);
    assert.equal(back.format, "hf");
    assert.deepEqual(back.labels, ["shirt", "bag", "boot"]);
    assert.deepEqual(back.preprocess.mean, loaded.preprocess.mean);
    const pixels = expected("timm-tiny.expected.safetensors").get("pixels")!;
    const a = loaded.model.forward(pixels, jsBackend).logits!.data;
    const b = back.model.forward(pixels, jsBackend).logits!.data;
    assert.equal(maxAbsDiff(a, b), 0);
    const cfg = hfConfigJson(back.model, back.labels);
    assert.equal(cfg.layer_norm_eps, 1e-6, "timm's eps carried over");
    assert.deepEqual(cfg.architectures, ["ViTForImageClassification"]);
  });

  const errors: Array<[string, () => unknown, RegExp]> = [
    ["an unknown preset", () => loadModel("vit-h99"), /--model vit-h99: no such file or directory, and not a preset \(vit-ti16/],
    ["a directory without config.json", () => {
      const d = join(tmp, "noconfig");
      mkdirSync(d, { recursive: true });
      cpSync(fixture("hf-tiny", "model.safetensors"), join(d, "model.safetensors"));
      return loadModel(d);
    }, /noconfig: no config.json/],
    ["a directory whose pytorch_model.bin is not a torch file", () => {
      const d = join(tmp, "pth");
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "config.json"), "{}");
      writeFileSync(join(d, "pytorch_model.bin"), "");
      return loadModel(d);
    }, /pytorch_model\.bin: not a torch\.save zip file/],
    ["a config whose width disagrees with the weights: names the key and both shapes", () => {
      const d = join(tmp, "wrongcfg");
      cpSync(fixture("hf-tiny"), d, { recursive: true });
      const cfg = JSON.parse(JSON.stringify(hfConfigJson(loadModel(fixture("hf-tiny")).model, ["a", "b", "c", "d", "e"])));
      cfg.intermediate_size = 128;
      writeFileSync(join(d, "config.json"), JSON.stringify(cfg));
      return loadModel(d);
    }, /key vit\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \(64, 32\), expected \(128, 32\)/],
    ["a missing tensor", () => {
      const t = readSafetensors(fixture("timm-tiny", "model.safetensors")).tensors;
      t.delete("blocks.1.mlp.fc2.bias");
      const p = join(tmp, "missing.safetensors");
      writeSafetensors(p, t);
      return loadModel(p, { heads: 3 }); // no config: 24 wide needs --heads before the keys are checked
    }, /missing key blocks\.1\.mlp\.fc2\.bias/],
    ["an HF checkpoint missing the value projection", () => {
      const t = readSafetensors(fixture("hf-tiny", "model.safetensors")).tensors;
      t.delete("vit.encoder.layer.0.attention.attention.value.weight");
      const p = join(tmp, "novalue.safetensors");
      writeSafetensors(p, t);
      return loadModel(p);
    }, /vit\.encoder\.layer\.0\.attention\.attention\.\{q,k,v\}\.weight is missing its v part/],
    ["a checkpoint that is not a ViT", () => {
      const p = join(tmp, "bert.safetensors");
      writeSafetensors(p, new Map([["bert.embeddings.word_embeddings.weight", { data: new Float32Array(4), shape: [2, 2] }]]));
      return loadModel(p);
    }, /not a ViT checkpoint/],
    ["a config.json of another model type", () => {
      const d = join(tmp, "bertcfg");
      cpSync(fixture("hf-tiny"), d, { recursive: true });
      writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: "bert" }));
      return loadModel(d);
    }, /model_type "bert" is not a ViT/],
    ["a config.json that is not JSON", () => {
      const d = join(tmp, "badjson");
      cpSync(fixture("hf-tiny"), d, { recursive: true });
      writeFileSync(join(d, "config.json"), "{ nope");
      return loadModel(d);
    }, /config\.json: not a JSON object/],
    ["an image smaller than one patch", () => loadModel(fixture("hf-tiny"), { imageSize: [6, 32] }), /image size 6x32 is smaller than one 8-pixel patch/],
    ["pixels of the wrong size in forward", () => loadModel(fixture("hf-tiny")).model.forward({ data: new Float32Array(3 * 16 * 16), shape: [1, 3, 16, 16] }, jsBackend), /expected pixels \(B, 3, 32, 32\), found \(1, 3, 16, 16\)/],
  ];
  for (const [what, act, message] of errors) {
    it(`refuses ${what}`, () => {
      assert.throws(act, (e: unknown) => e instanceof VitlensError && message.test(e.message), `expected ${message}`);
    });
  }
});
