// One forward per layer: the paths that share it (inference / training, teacher forcing / KV-cache
// decoding, both trainers' loss) must agree, and a reused workspace must change nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadCaptioner } from "../src/caption/captioner.js";
import { decoderPass, memoryKeysValues } from "../src/caption/decoder.js";
import { loadModel } from "../src/checkpoint/load.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { TrainWorkspace, zeroGrads } from "../src/models/vit-train.js";
import { Rng } from "../src/random.js";
import { crossEntropy } from "../src/train/loss.js";
import { backends, expected, fixture, maxAbsDiff, randomArray } from "./helpers.js";

describe("cross-entropy shared by both trainers", () => {
  it("label smoothing with ignored rows matches PyTorch's F.cross_entropy(ignore_index=-1, label_smoothing=0.1)", () => {
    const logits = Float32Array.from([1, -2, 0.5, 3, 0.2, 0.1, -0.3, 0, 2, 2, -1, 0.5, -1, 4, 0, 1]);
    const { loss, dlogits, correct, count } = crossEntropy(logits, [3, -1, 0, 2], 4, 0.1, -1);
    // Printed by torch 1.13 (loss.item(), logits.grad) for these logits and targets.
    const torchLoss = 1.7818299531936646;
    const torchGrad = [0.028517909348011017, -0.006498618051409721, 0.014018073678016663, -0.036037370562553406, 0, 0, 0, 0,
      -0.16167892515659332, 0.13832105696201324, -0.0010318421991541982, 0.024389680474996567,
      -0.006243738811463118, 0.30179011821746826, -0.3026531934738159, 0.007106805220246315];
    assert.ok(Math.abs(loss - torchLoss) < 1e-6, `loss ${loss}`);
    assert.ok(maxAbsDiff(dlogits, torchGrad) < 1e-7, "dlogits");
    assert.equal(count, 3);
    assert.equal(correct, 2, "rows 0 and 2 (a tie, first index wins) are hits; row 3 is not; row 1 is ignored");
  });
});

for (const be of backends()) {
  describe(`ViT: one forward for inference and training (${be.name})`, () => {
    const { model } = loadModel(fixture("hf-tiny"));
    const pixels = expected("hf-tiny.expected.safetensors").get("pixels")!;

    it("the in-place inference pass and the kept training pass (no dropout) give the same logits and attentions", () => {
      const inference = model.forward(pixels, be);
      const training = vitForward(model, pixels, be, { keep: true });
      assert.ok(maxAbsDiff(inference.logits!.data, training.logits!.data) <= 1e-5);
      inference.attentions.forEach((a, l) => assert.ok(maxAbsDiff(a.data, training.attentions[l].data) <= 1e-6, `layer ${l}`));
      assert.notEqual(inference.attentions[0].data, inference.attentions[1].data, "each layer keeps its own probabilities");
    });

    it("a kept pass that reuses an earlier pass's activations overwrites them and changes no result", () => {
      const dropping = { config: { ...model.config, hiddenDropout: 0.1, attentionDropout: 0.1 }, params: model.params };
      const dlogits = randomArray(2 * model.config.numClasses, 3);
      const fresh = vitForward(dropping, pixels, be, { dropout: new Rng(5) });
      const freshGrads = zeroGrads(model.params);
      vitBackward(dropping, fresh, dlogits, freshGrads, be);
      const logits = fresh.logits!.data.slice();
      const other = { data: randomArray(pixels.data.length, 11), shape: pixels.shape };
      const workspace = new TrainWorkspace();
      const first = vitForward(dropping, other, be, { dropout: new Rng(5), workspace });
      const again = vitForward(dropping, pixels, be, { dropout: new Rng(5), workspace });
      assert.equal(again.attentions[0].data, first.attentions[0].data, "the buffers are reused");
      assert.deepEqual(again.logits!.data, logits);
      const grads = zeroGrads(model.params);
      vitBackward(dropping, again, dlogits, grads, be);
      for (const [name, g] of freshGrads) assert.deepEqual(grads.get(name)!.data, g.data, name);
    });

    it("backward through the shared blocks still returns one attention gradient per layer", () => {
      const fwd = vitForward(model, pixels, be, { keep: true });
      const attentionGrads = vitBackward(model, fwd, randomArray(2 * model.config.numClasses, 4), zeroGrads(model.params), be);
      assert.equal(attentionGrads.length, model.config.numLayers);
      assert.deepEqual(attentionGrads[0].shape, fwd.attentions[0].shape);
    });
  });

  describe(`decoder: one layer forward for teacher forcing and KV-cache decoding (${be.name})`, () => {
    /** The tiny captioner and its encoder's tokens (1, N, E) for the first test image. */
    const oneImage = () => {
      const cap = loadCaptioner(fixture("captioner-tiny"));
      const pixels = expected("captioner.expected.safetensors").get("pixels")!;
      const one = { data: pixels.data.subarray(0, pixels.data.length / 2), shape: [1, ...pixels.shape.slice(1)] };
      const tokens = cap.encoder.encode(one, be).tokens;
      return { cap, c: cap.decoderConfig, tokens, N: tokens.shape[1] };
    };

    it("feeding the positions one at a time through the cache gives the full pass's logits and cross-attention", () => {
      const { cap, c, tokens, N } = oneImage();
      const ids = Int32Array.from([1, 7, 5, 9, 6]);
      const T = ids.length;
      const memory = memoryKeysValues(be, c, cap.decoderParams, tokens.data, 1, N);
      const full = decoderPass(be, c, cap.decoderParams, ids, { B: 1, T }, memory, { keep: true });
      // Stale, finite values past the current position: the causal mask must hide them.
      const size = c.hiddenSize * c.maxLength;
      const kv = Array.from({ length: c.numLayers }, (_, l) => ({ k: randomArray(size, 20 + l), v: randomArray(size, 40 + l), capacity: c.maxLength }));
      const V = c.vocabSize;
      const H = c.numHeads;
      for (let t = 0; t < T; t++) {
        const step = decoderPass(be, c, cap.decoderParams, ids.subarray(t, t + 1), { B: 1, T: 1 }, memory, { keep: false, cache: { kv, start: t } });
        const d = maxAbsDiff(step.logits, full.logits.subarray(t * V, (t + 1) * V));
        assert.ok(d <= 1e-5, `position ${t}: logits differ by ${d}`);
        for (let l = 0; l < c.numLayers; l++) {
          for (let h = 0; h < H; h++) {
            const want = full.crossAttentions[l].subarray((h * T + t) * N, (h * T + t + 1) * N);
            assert.ok(maxAbsDiff(step.crossAttentions[l].subarray(h * N, (h + 1) * N), want) <= 1e-6, `t${t} l${l} h${h}`);
          }
        }
      }
    });

    it("sequences sharing one image's keys and values (beams) get what each gets alone, maps in (B, H, T, N)", () => {
      const { cap, c, tokens, N } = oneImage();
      const memory = memoryKeysValues(be, c, cap.decoderParams, tokens.data, 1, N);
      const rows = [[1, 7, 5], [1, 9, 6], [1, 4, 4]];
      const [B, T, V] = [rows.length, rows[0].length, c.vocabSize];
      const shared = decoderPass(be, c, cap.decoderParams, Int32Array.from(rows.flat()), { B, T }, memory, { keep: false });
      rows.forEach((ids, b) => {
        const alone = decoderPass(be, c, cap.decoderParams, Int32Array.from(ids), { B: 1, T }, memory, { keep: false });
        assert.ok(maxAbsDiff(shared.logits.subarray(b * T * V, (b + 1) * T * V), alone.logits) <= 1e-5, `sequence ${b}: logits`);
        for (let l = 0; l < c.numLayers; l++) {
          const per = c.numHeads * T * N;
          assert.ok(maxAbsDiff(shared.crossAttentions[l].subarray(b * per, (b + 1) * per), alone.crossAttentions[l]) <= 1e-6, `sequence ${b}, layer ${l}: maps`);
        }
      });
    });
  });
}
