// Explanations against the PyTorch reference (scripts/reference/explain.py) on hf-tiny:
// position-embedding similarity, rollout (fusions, discarding), gradient-weighted attribution.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend } from "../src/backend/index.js";
import { loadModel } from "../src/checkpoint/load.js";
import { attribution, clsAttention, prefixShares, rollout } from "../src/explain/attention-maps.js";
import { positionSimilarity } from "../src/explain/posemb.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { zeroGrads } from "../src/models/vit-train.js";
import { expected, fixture, maxAbsDiff } from "./helpers.js";

const ref = expected("hf-tiny.explain.safetensors");
const { model } = loadModel(fixture("hf-tiny"));
const pixels = expected("hf-tiny.expected.safetensors").get("pixels")!;
const P = 16;

describe("explanations match the PyTorch reference", () => {
  it("position-embedding cosine similarity (P, P), CLS excluded", () => {
    const sim = positionSimilarity(model.params.get("pos_embed")!);
    assert.deepEqual(sim.shape, [P, P]);
    assert.ok(maxAbsDiff(sim.data, ref.get("posemb_similarity")!.data) <= 1e-5);
    for (let i = 0; i < P; i++) assert.ok(Math.abs(sim.data[i * P + i] - 1) < 1e-6, "a patch is most similar to itself");
  });

  it("rollout with mean / max / min head fusion, and with half the entries discarded", () => {
    const { attentions } = model.forward(pixels, jsBackend);
    for (const [key, fusion, discard] of [["mean", "mean", 0], ["max", "max", 0], ["min", "min", 0], ["mean.discard0.5", "mean", 0.5]] as const) {
      const r = ref.get(`rollout.${key}`)!.data;
      for (let b = 0; b < 2; b++) {
        const mine = rollout(attentions, b, fusion, discard);
        const d = maxAbsDiff(mine, r.subarray(b * P, (b + 1) * P));
        assert.ok(d <= 1e-5, `rollout ${key} image ${b}: differs by ${d}`);
      }
    }
  });

  it("gradient-weighted attribution for the predicted class, from vitlens' own attention gradients", () => {
    const fwd = vitForward(model, pixels, jsBackend, { keep: true });
    const C = model.config.numClasses;
    const target = ref.get("target")!.data;
    const dlogits = new Float32Array(2 * C);
    for (let b = 0; b < 2; b++) dlogits[b * C + target[b]] = 1; // d(sum of each image's target logit)
    const attentionGrads = vitBackward(model, fwd, dlogits, zeroGrads(model.params), jsBackend);
    attentionGrads.forEach((g, l) => {
      const d = maxAbsDiff(g.data, ref.get(`attention_grad.${l}`)!.data);
      assert.ok(d <= 1e-5, `layer ${l} attention gradient differs by ${d}`);
    });
    for (let b = 0; b < 2; b++) {
      const d = maxAbsDiff(attribution(fwd.attentions, attentionGrads, b), ref.get("attribution.predicted")!.data.subarray(b * P, (b + 1) * P));
      assert.ok(d <= 1e-5, `attribution image ${b}: differs by ${d}`);
    }
  });

  it("CLS attention of one head or fused, with range errors for bad heads", () => {
    const { attentions } = model.forward(pixels, jsBackend);
    const a = attentions[1];
    const one = clsAttention(a, 1, 2);
    assert.equal(one.length, P);
    assert.equal(one[0], a.data[((1 * 4 + 2) * 17 + 0) * 17 + 1]);
    assert.throws(() => clsAttention(a, 0, 4), /--head 4 is out of range: the model has 4 heads \(0\.\.3\)/);
  });
});

describe("prefix shares read the same query row as the maps", () => {
  it("with a CLS token its row; without one (registers only) the mean of the patch rows, never register 0's row", () => {
    // one head, N = 4: two prefix tokens, two patches; row r is (r, 10 + r, 20 + r, 30 + r) / 100
    const N = 4;
    const att = { data: Float32Array.from({ length: N * N }, (_, k) => (Math.floor(k / N) + 10 * (k % N)) / 100), shape: [1, 1, N, N] };
    assert.deepEqual(Array.from(prefixShares(att, 0, "mean", { prefix: 2, cls: true })), [0, 0.1].map(Math.fround));
    const shares = prefixShares(att, 0, "mean", { prefix: 2, cls: false }); // rows 2 and 3 averaged
    assert.ok(Math.abs(shares[0] - 0.025) < 1e-7 && Math.abs(shares[1] - 0.125) < 1e-7, Array.from(shares).join(","));
    assert.ok(Math.abs(clsAttention(att, 0, "mean", { prefix: 2, cls: false })[0] - 0.225) < 1e-7);
  });
});
