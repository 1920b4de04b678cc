// Writing each family back out: the HF layout where a transformers class computes the same
// function (checked against transformers itself by scripts/reference/check_hf_export.py on the
// folders this test keeps with VITLENS_KEEP_EXPORTS=DIR), timm's layout for every model (timm's
// own classes where timm has the options, read back by vitlens from config.json's vitlens entry
// otherwise); each read back by vitlens gives the same output bit for bit. What no transformers
// class computes is refused naming the option.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { loadModel, type LoadOptions } from "../src/checkpoint/load.js";
import { saveHfModel } from "../src/checkpoint/save-hf.js";
import { saveTimmModel } from "../src/checkpoint/save-timm.js";
import { writeSafetensors } from "../src/checkpoint/safetensors.js";
import { fixture, maxAbsDiff } from "./helpers.js";

const keep = process.env.VITLENS_KEEP_EXPORTS;
const tmp = mkdtempSync(join(tmpdir(), "vitlens-export-"));
const vp = { heads: 3 } as const;
const CASES: Array<[string, LoadOptions, RegExp | null]> = [
  ["family-hf-deit-distilled", {}, null], ["family-hf-deit", {}, null], ["family-hf-dinov2", {}, null], ["family-hf-dinov2-cls", {}, null],
  ["family-hf-dinov2-reg-cls", {}, null], ["family-hf-clip-vision", {}, null], ["family-hf-clip-cls", {}, null], ["family-hf-beit", {}, null],
  ["family-hf-beit", { imageSize: [24, 24] }, null], // its tables resized to a 6x6 grid
  ["family-hf-beit", { imageSize: [24, 20] }, /relative position bias on a 6x5 patch grid: transformers' BeitRelativePositionBias reads a non-square grid's table transposed/],
  ["family-hf-beit-abs-cls", { imageSize: [24, 20] }, /BEiT position embeddings on a 6x5 patch grid: transformers' BeitEmbeddings reshapes them as a square grid/],
  ["family-hf-beit-shared", {}, null], ["family-hf-beit-abs-cls", {}, null], ["family-hf-vit-msn", {}, null], ["family-timm-beit", {}, null],
  ["family-timm-reg", {}, /register tokens with their own position embeddings \(timm reg_tokens/],
  ["family-timm-nocls-avg", {}, /a ViT without a CLS token \(timm class_token=False\)/],
  ["family-timm-noembed-cls", {}, /position embeddings on the patches only \(timm no_embed_class\)/],
  ["family-timm-clip", {}, /a norm before block 0 or a patch projection without bias, outside CLIP's vision tower/],
  ["family-vitpytorch-current-cls.pth", vp, /a LayerNorm around the patch projection \(vit-pytorch\)/],
  ["family-vitpytorch-2023a-mean.pth", { ...vp, pool: "avg-all" }, /a LayerNorm around the patch projection/],
  ["family-te-post.pth", { ...vp, norm: "post", activation: "gelu", pool: "cls" }, /post-norm blocks \(nn\.TransformerEncoder's norm_first=False\): no transformers class computes it/],
];

describe("writing every family back out", () => {
  for (const [name, opts, refusal] of CASES) {
    const label = opts.imageSize ? `${name}-${opts.imageSize.join("x")}` : name.replace(/\.pth$/, "");
    it(`${label}: ${refusal ? "HF refused by name; " : "HF and "}timm layouts read back bit for bit`, () => {
      const m = loadModel(fixture(name), opts);
      const [h, w] = m.model.config.imageSize;
      const pixels = { data: Float32Array.from({ length: 3 * h * w }, (_, i) => Math.sin(i)), shape: [1, 3, h, w] };
      const out = m.model.forward(pixels, jsBackend);
      const want = (out.logits ?? out.features).data;
      const layouts: Array<["hf" | "timm", typeof saveHfModel | typeof saveTimmModel]> = [["hf", saveHfModel], ["timm", saveTimmModel]];
      for (const [layout, save] of layouts) {
        const dir = layout === "hf" && keep && !refusal ? join(keep, label) : join(tmp, `${label}-${layout}`);
        mkdirSync(dir, { recursive: true });
        if (layout === "hf" && refusal) {
          assert.throws(() => save(dir, m.model, m.preprocess, m.labels), refusal);
          continue;
        }
        save(dir, m.model, m.preprocess, m.labels);
        const back = loadModel(dir);
        const again = back.model.forward(pixels, jsBackend);
        assert.equal(maxAbsDiff((again.logits ?? again.features).data, want), 0, `${layout} layout`);
        if (layout === "hf") writeSafetensors(join(dir, "expected.safetensors"), new Map([["pixels", pixels], ["out", out.logits ?? out.features]]));
      }
    });
  }
});
