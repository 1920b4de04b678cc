// Every ViT family against the library that wrote it (scripts/reference/families.py,
// families_more.py, beit_resized.py, vit_pytorch_layouts.py: transformers 5.18, timm 1.0.29, torch 2.13, vit-pytorch's
// five layouts re-declared, nn.TransformerEncoder): logits (or a backbone's features) within 1e-4 and every
// layer's attention within 1e-5, on a real photo, both backends; the image processors' pixels.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel, type LoadOptions } from "../src/checkpoint/load.js";
import { preprocessFrom, readPreprocessorJson } from "../src/checkpoint/config.js";
import { loadImage } from "../src/data/preprocess.js";
import { backends, expected, fixture, maxAbsDiff, root } from "./helpers.js";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Case {
  fixture: string; // the expected file's name: family-<fixture>.expected.safetensors
  model?: string; // the model's folder or file, when another fixture's
  family: string;
  opts?: LoadOptions;
}

const vp = { heads: 3 } as const;
const te = { heads: 3, activation: "gelu", pool: "cls" } as const;
const CASES: Case[] = [
  { fixture: "hf-deit", family: "HF DeiT" },
  { fixture: "hf-deit-distilled", family: "HF DeiT" },
  { fixture: "hf-dinov2", family: "HF DINOv2" },
  { fixture: "hf-dinov2-48x40", model: "family-hf-dinov2", family: "HF DINOv2" },
  { fixture: "hf-dinov2-cls", family: "HF DINOv2" },
  { fixture: "hf-dinov2-reg", family: "HF DINOv2 with registers" },
  { fixture: "hf-dinov2-reg-cls", family: "HF DINOv2 with registers" },
  { fixture: "hf-dinov2-reg-cls-24x20", model: "family-hf-dinov2-reg-cls", family: "HF DINOv2 with registers" },
  { fixture: "hf-clip-vision", family: "HF CLIP vision" },
  { fixture: "hf-clip-cls", family: "HF CLIP (vision tower)" },
  { fixture: "hf-clip", family: "HF CLIP (vision tower)" },
  { fixture: "hf-beit", family: "HF BEiT" },
  { fixture: "hf-beit-18", model: "family-hf-beit", family: "HF BEiT" },
  { fixture: "hf-beit-24x20", model: "family-hf-beit", family: "HF BEiT" }, // tables resized to a 6x5 grid
  { fixture: "hf-beit-shared", family: "HF BEiT" },
  { fixture: "hf-beit-shared-12x12", model: "family-hf-beit-shared", family: "HF BEiT" }, // and to a smaller 3x3
  { fixture: "hf-beit-6x5", family: "HF BEiT" }, // made non-square: transformers re-reads the table even at its own grid
  { fixture: "hf-beit-6x5-16x16", model: "family-hf-beit-6x5", family: "HF BEiT" }, // from a non-square table
  { fixture: "hf-beit-abs-cls", family: "HF BEiT" },
  { fixture: "hf-data2vec-vision", family: "HF Data2Vec-vision" },
  { fixture: "hf-vit-msn", family: "HF ViT-MSN" },
  ...["timm-reg", "timm-reg-noembed", "timm-deit-distilled", "timm-avg", "timm-avg-nofcnorm", "timm-nocls-avg", "timm-prenorm", "timm-clip",
    "timm-clip-quickgelu", "timm-noqkvbias", "timm-ls", "timm-noembed-cls", "timm-dynamic", "timm-beit"].map((f) => ({ fixture: f, family: "timm" })),
  { fixture: "vitpytorch-current-cls", model: "family-vitpytorch-current-cls.pth", family: "vit-pytorch", opts: vp },
  { fixture: "vitpytorch-current-mean", model: "family-vitpytorch-current-mean.pth", family: "vit-pytorch", opts: vp },
  { fixture: "vitpytorch-2023b-cls", model: "family-vitpytorch-2023b-cls.pth", family: "vit-pytorch", opts: vp },
  { fixture: "vitpytorch-2023a-mean", model: "family-vitpytorch-2023a-mean.pth", family: "vit-pytorch", opts: { ...vp, pool: "avg-all" } },
  { fixture: "vitpytorch-2021-cls", model: "family-vitpytorch-2021-cls.pth", family: "vit-pytorch", opts: vp },
  { fixture: "vitpytorch-2020-cls", model: "family-vitpytorch-2020-cls.pth", family: "vit-pytorch", opts: vp },
  { fixture: "te-post", model: "family-te-post.pth", family: "nn.TransformerEncoder", opts: { ...te, norm: "post" } },
  { fixture: "te-pre", model: "family-te-pre.pth", family: "nn.TransformerEncoder", opts: { ...te, norm: "pre" } },
];

for (const be of backends()) {
  describe(`ViT families as their libraries compute them (${be.name} backend)`, () => {
    for (const c of CASES) {
      it(`${c.fixture}: ${c.family}`, () => {
        const ref = expected(`family-${c.fixture}.expected.safetensors`);
        const pixels = ref.get("pixels")!;
        const [, , h, w] = pixels.shape;
        const loaded = loadModel(fixture(c.model ?? `family-${c.fixture}`), { ...c.opts, imageSize: [h, w] });
        assert.equal(loaded.family, c.family);
        const out = loaded.model.forward(pixels, be);
        const want = ref.get("logits") ?? ref.get("features")!;
        const got = out.logits ?? out.features;
        const d = maxAbsDiff(got.data, want.data);
        assert.ok(d <= 1e-4, `${ref.has("logits") ? "logits" : "features"} differ by ${d}`);
        out.attentions.forEach((a, l) => {
          const da = maxAbsDiff(a.data, ref.get(`attention.${l}`)!.data);
          assert.ok(da <= 1e-5, `layer ${l} attention differs by ${da}`);
        });
      });
    }
  });
}

describe("an HF BEiT weights file without its config.json", () => {
  it("is still resized as transformers resizes it (HF names say whose table it is), given what the config held", () => {
    const dir = mkdtempSync(join(tmpdir(), "vitlens-bare-beit-"));
    copyFileSync(fixture("family-hf-beit", "model.safetensors"), join(dir, "model.safetensors"));
    const ref = expected("family-hf-beit-24x20.expected.safetensors");
    const pixels = ref.get("pixels")!;
    const loaded = loadModel(join(dir, "model.safetensors"), { heads: 3, lnEps: 1e-12, pool: "avg", imageSize: [24, 20] });
    assert.ok(loaded.notes.some((n) => n.includes("relative position tables resized (bilinear, as transformers' BEiT does) from a 4x4 to a 6x5")), loaded.notes.join("\n"));
    const d = maxAbsDiff(loaded.model.forward(pixels).logits!.data, ref.get("logits")!.data);
    assert.ok(d <= 1e-4, `logits differ by ${d}`);
  });
});

describe("HF image processors, as their PIL classes compute pixel_values", () => {
  for (const name of ["vit", "deit", "dinov2", "clip", "beit"]) {
    it(`${name}: resize, centre crop at (in - out) // 2, rescale, normalize`, async () => {
      const ref = expected(`family-proc-${name}.expected.safetensors`);
      const want = ref.get("pixel_values")!;
      const [, , h, w] = want.shape;
      const pre = preprocessFrom(null, readPreprocessorJson(fixture(`family-proc-${name}`)), [h, w]);
      assert.deepEqual(pre.size, [h, w]);
      const got = await loadImage(join(root, "samples", "cat.jpg"), pre);
      const d = maxAbsDiff(got.data, want.data);
      assert.ok(d <= 1e-5, `pixels differ by ${d}`);
    });
  }
});
