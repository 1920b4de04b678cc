// One training step against the libraries (scripts/reference/families_more.py): the loss and
// every parameter's gradient of timm's distilled DeiT (distilled_training=False, trained on the
// averaged logits), HF DINOv2 with registers, HF CLIP vision with a new head, HF BEiT, on two
// real photos, both backends. Gradients are compared under the library's own key names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel } from "../src/checkpoint/load.js";
import { toHf, type HfFamily } from "../src/checkpoint/keymap-hf.js";
import { toClip } from "../src/checkpoint/keymap-clip.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { zeroGrads } from "../src/models/vit-train.js";
import { Rng } from "../src/random.js";
import type { Params, Tensor } from "../src/tensor.js";
import { crossEntropy } from "../src/train/loss.js";
import { backends, expected, fixture, maxAbsDiff } from "./helpers.js";

interface Case { name: string; model: string; toLibrary: (grads: Params) => Map<string, Tensor>; newHead?: boolean }

const hf = (family: HfFamily) => (g: Params) => toHf(g, family);
const CASES: Case[] = [
  { name: "timm-deit-distilled", model: "family-timm-deit-distilled", toLibrary: (g) => new Map(g) },
  { name: "hf-dinov2-reg-cls", model: "family-hf-dinov2-reg-cls", toLibrary: hf("dinov2_with_registers") },
  { name: "hf-beit", model: "family-hf-beit", toLibrary: hf("beit") },
  {
    name: "hf-clip-vision", model: "family-hf-clip-vision", newHead: true,
    // CLIPVisionModel's names (no prefix) and the reference's own head
    toLibrary: (g) => new Map([...toClip(g)].map(([k, t]) => [k.replace(/^vision_model\./, "").replace(/^classifier\./, "head."), t])),
  },
];

for (const be of backends()) {
  describe(`one training step of each family, as its library computes it (${be.name} backend)`, () => {
    for (const c of CASES) {
      it(`${c.name}: loss and every gradient`, () => {
        const ref = expected(`family-${c.name}.train.safetensors`);
        const pixels = ref.get("pixels")!;
        const labels = Array.from(ref.get("labels")!.data);
        const { model } = loadModel(fixture(c.model), { imageSize: [pixels.shape[2], pixels.shape[3]], ...(c.newHead ? { numClasses: 3 } : {}) });
        if (c.newHead) for (const k of ["weight", "bias"]) model.params.get(`head.${k}`)!.data.set(ref.get(`init.head.${k}`)!.data);
        const fwd = vitForward(model, pixels, be, { dropout: new Rng(0) });
        const { loss, dlogits } = crossEntropy(fwd.logits!.data, labels, 3, 0);
        assert.ok(Math.abs(loss - ref.get("loss")!.data[0]) <= 1e-5, `loss ${loss} vs ${ref.get("loss")!.data[0]}`);
        const grads = zeroGrads(model.params);
        vitBackward(model, fwd, dlogits, grads, be);
        const mine = c.toLibrary(grads);
        const theirs = [...ref.keys()].filter((k) => k.startsWith("grad."));
        assert.ok(theirs.length > 20);
        for (const k of theirs) {
          const key = k.slice(5);
          const g = mine.get(key);
          assert.ok(g, `no gradient for ${key}`);
          const want = ref.get(k)!.data;
          const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
          const d = maxAbsDiff(g.data, want);
          assert.ok(d <= 1e-4 * scale + 1e-6, `${key}: differs by ${d} (largest ${scale})`);
        }
      });
    }
  });
}
