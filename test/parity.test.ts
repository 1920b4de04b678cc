// ViT forward against PyTorch: fixtures from scripts/reference/vit.py (HF and timm layouts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { loadBatch } from "../src/data/preprocess.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

const LOGITS_TOL = 1e-4;
const ATTENTION_TOL = 1e-5;

const cases = [
  { name: "HF ViTForImageClassification", model: "hf-tiny", expect: "hf-tiny.expected.safetensors", images: ["hf-tiny-0.png", "hf-tiny-1.png"] },
  { name: "timm VisionTransformer", model: "timm-tiny", expect: "timm-tiny.expected.safetensors", images: ["timm-tiny-0.png", "timm-tiny-1.png"] },
];

for (const be of backends()) {
  describe(`PyTorch parity on the ${be.name} backend`, () => {
    for (const c of cases) {
      it(`${c.name}: preprocessing, logits and every layer's attention`, async () => {
        const { model, preprocess } = loadModel(fixture(c.model));
        const ref = expected(c.expect);
        const pixels = await loadBatch(c.images.map((f) => fixture(f)), preprocess);
        const refPixels = ref.get("pixels")!;
        assert.deepEqual(pixels.shape, refPixels.shape);
        assert.ok(maxAbsDiff(pixels.data, refPixels.data) < 1e-5, "decoded PNG pixels match the processor's");
        const out = model.forward(refPixels, be);
        const logitsDiff = maxAbsDiff(out.logits!.data, ref.get("logits")!.data);
        assert.ok(logitsDiff <= LOGITS_TOL, `logits differ by ${logitsDiff}`);
        assert.equal(out.attentions.length, model.config.numLayers);
        out.attentions.forEach((att, l) => {
          const r = ref.get(`attention.${l}`)!;
          assert.deepEqual(att.shape, r.shape);
          const d = maxAbsDiff(att.data, r.data);
          assert.ok(d <= ATTENTION_TOL, `layer ${l} attention differs by ${d}`);
        });
        const scoring = model.forward(refPixels, be, { attentions: false }); // what eval, predict and bench run
        assert.deepEqual(scoring.attentions, []);
        assert.deepEqual(scoring.logits!.data, out.logits!.data, "the same logits without the maps");
        // Scoring passes reuse the model's buffers: the next pass (another batch size, then the
        // first batch again) overwrites them without changing what an earlier one returned.
        const [C, H, W] = refPixels.shape.slice(1);
        const second = model.forward({ data: refPixels.data.subarray(C * H * W), shape: [1, C, H, W] }, be, { attentions: false });
        const again = model.forward(refPixels, be, { attentions: false });
        const classes = model.config.numClasses;
        const alone = maxAbsDiff(second.logits!.data, out.logits!.data.subarray(classes)); // another M: GEMM blocking may round differently
        assert.ok(alone <= 1e-5, `the second image alone differs by ${alone}`);
        assert.deepEqual(again.logits!.data, out.logits!.data);
        assert.deepEqual(scoring.logits!.data, out.logits!.data, "the first pass's logits untouched");
      });
    }

    it("HF bare ViTModel (no prefix, pooler ignored, no head): CLS features", () => {
      const { model, notes } = loadModel(fixture("hf-tiny-vitmodel"));
      const ref = expected("hf-tiny-vitmodel.expected.safetensors");
      assert.equal(model.config.numClasses, 0);
      assert.ok(notes.some((n) => n.includes("pooler.dense.weight")), "the pooler is reported as ignored");
      const out = model.forward(ref.get("pixels")!, be);
      assert.equal(out.logits, null);
      const d = maxAbsDiff(out.features.data, ref.get("logits")!.data);
      assert.ok(d <= LOGITS_TOL, `features differ by ${d}`);
    });

    it("float16 safetensors without a config: architecture inferred from shapes", () => {
      const { model } = loadModel(fixture("timm-tiny.f16.safetensors"), { heads: 3 });
      assert.equal(model.config.hiddenSize, 24);
      assert.equal(model.config.numLayers, 2);
      assert.deepEqual(model.config.imageSize, [24, 24]);
      // 24 wide is not a published width and nothing records the heads: refused without --heads
      assert.throws(() => loadModel(fixture("timm-tiny.f16.safetensors")), /24-wide ViT .*pass --heads N/);
      const withHeads = loadModel(fixture("timm-tiny.f16.safetensors"), { heads: 3 });
      const ref = expected("timm-tiny.f16.expected.safetensors");
      const d = maxAbsDiff(withHeads.model.forward(ref.get("pixels")!, be).logits!.data, ref.get("logits")!.data);
      assert.ok(d <= LOGITS_TOL, `logits differ by ${d}`);
    });
  });
}
