// Gradients: central finite differences on the js backend for every parameter tensor (dropout
// on, same masks each pass), then native vs js gradients on the same batch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend, type Backend } from "../src/backend/index.js";
import { defaultConfig } from "../src/models/vit-config.js";
import { initParams } from "../src/models/vit-params.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { zeroGrads } from "../src/models/vit-train.js";
import { ViT } from "../src/models/vit.js";
import { Rng } from "../src/random.js";
import { crossEntropy } from "../src/train/loss.js";
import { randomArray } from "./helpers.js";

function tinyModel(dropout: number): ViT {
  const config = defaultConfig({
    hiddenSize: 8, numLayers: 2, numHeads: 2, mlpSize: 12, patchSize: 4, imageSize: [8, 12], numClasses: 3,
    layerNormEps: 1e-6, hiddenDropout: dropout, attentionDropout: dropout,
  });
  const params = initParams(config, 3);
  // Larger than the 0.02 init so every path carries signal.
  let seed = 10;
  for (const [name, t] of params) {
    if (name.includes("norm")) continue;
    t.data.set(randomArray(t.data.length, seed++, 0.5));
  }
  return new ViT(config, params);
}

const pixels = { data: randomArray(2 * 3 * 8 * 12, 99), shape: [2, 3, 8, 12] };
const labels = [2, 0];

function lossOf(model: ViT, be: Backend): number {
  const fwd = vitForward(model, pixels, be, { dropout: new Rng(7) });
  return crossEntropy(fwd.logits!.data, labels, 3, 0.1).loss;
}

function gradsOf(model: ViT, be: Backend) {
  const fwd = vitForward(model, pixels, be, { dropout: new Rng(7) });
  const { dlogits } = crossEntropy(fwd.logits!.data, labels, 3, 0.1);
  const grads = zeroGrads(model.params);
  const attentionGrads = vitBackward(model, fwd, dlogits, grads, be);
  return { grads, attentionGrads };
}

describe("ViT backward", () => {
  it("matches central finite differences for every parameter (js backend, dropout 0.1, label smoothing 0.1)", () => {
    const model = tinyModel(0.1);
    const { grads } = gradsOf(model, jsBackend);
    const eps = 1e-2;
    let checked = 0;
    for (const [name, t] of model.params) {
      const g = grads.get(name)!.data;
      // Up to 6 entries per tensor, spread over it.
      const picks = [...new Set([0, 1, 2, 3, 4, 5].map((i) => Math.floor((i * t.data.length) / 6)))];
      for (const i of picks) {
        const orig = t.data[i];
        t.data[i] = orig + eps;
        const up = lossOf(model, jsBackend);
        t.data[i] = orig - eps;
        const down = lossOf(model, jsBackend);
        t.data[i] = orig;
        const fd = (up - down) / (2 * eps);
        const err = Math.abs(fd - g[i]);
        assert.ok(err <= 2e-3 + 2e-2 * Math.abs(fd), `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `checked ${checked} entries`);
  });

  it("exposes dL/d(attention probabilities) for every layer", () => {
    // Their correctness is covered by the finite differences above (q, k, v gradients flow
    // through them); here: one per layer, the right shape, carrying signal.
    const model = tinyModel(0);
    const { attentionGrads } = gradsOf(model, jsBackend);
    assert.equal(attentionGrads.length, 2);
    for (const g of attentionGrads) {
      assert.deepEqual(g.shape, [2, 2, 7, 7]);
      assert.ok(g.data.some((v) => Math.abs(v) > 1e-6));
    }
  });

  const native = tryNativeBackend();
  it("native gradients equal js gradients", { skip: native ? false : "native addon not built" }, () => {
    const model = tinyModel(0.1);
    const js = gradsOf(model, jsBackend).grads;
    const nat = gradsOf(model, native!).grads;
    for (const [name, t] of js) {
      const n = nat.get(name)!.data;
      let scale = 0;
      let err = 0;
      for (let i = 0; i < t.data.length; i++) {
        scale = Math.max(scale, Math.abs(t.data[i]));
        err = Math.max(err, Math.abs(t.data[i] - n[i]));
      }
      assert.ok(err <= 1e-4 * Math.max(scale, 1e-3), `${name}: native differs by ${err} (scale ${scale})`);
    }
  });
});
