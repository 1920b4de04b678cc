// The caption decoder's backward in both forms — vitlens' pre-norm decoder and BERT's post-norm
// one (BLIP's text decoder: embedding LayerNorm, post-norm self- and cross-attention and MLP, the
// prediction-head transform) — against central finite differences (js), native against js, and
// the memory's gradient (what trains the encoder) too.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend, type Backend } from "../src/backend/index.js";
import { initDecoderParams, validateDecoderConfig, type DecoderConfig } from "../src/caption/decoder-config.js";
import { decoderBackward, decoderForward } from "../src/caption/decoder.js";
import { captionLoss, IGNORE } from "../src/caption/train-step.js";
import { zeroGrads } from "../src/models/vit-train.js";
import type { Params } from "../src/tensor.js";
import { maxAbsDiff, randomArray } from "./helpers.js";

const BASE = { vocabSize: 11, maxLength: 6, hiddenSize: 8, numLayers: 2, numHeads: 2, mlpSize: 12, encoderHiddenSize: 6, tieEmbeddings: false, layerNormEps: 1e-6 };
const VARIANTS: Array<[string, Partial<DecoderConfig>]> = [
  ["pre-norm (vitlens', GPT-2's)", {}],
  ["BERT's post-norm with an embedding norm and the prediction-head transform (BLIP)", { norm: "post", embeddingNorm: true, headTransform: true, tieEmbeddings: true }],
];
const B = 2;
const T = 4;
const N = 3;
const ids = Int32Array.from([1, 5, 7, 2, 1, 3, 9, 4]);
const targets = Int32Array.from([5, 7, 2, IGNORE, 3, 9, 4, 2]);
const encoded = { data: randomArray(B * N * 6, 71), shape: [B, N, 6] };

function loss(c: DecoderConfig, params: Params, be: Backend, memory = encoded): number {
  return captionLoss(decoderForward(be, c, params, ids, B, T, memory).logits.data, targets, c.vocabSize).loss;
}

describe("caption decoder backward", () => {
  for (const [what, extra] of VARIANTS) {
    it(`${what}: finite differences for every tensor and the memory (js), native equal to js`, () => {
      const c = validateDecoderConfig({ ...BASE, ...extra }, "test");
      const params = initDecoderParams(c, 3);
      let seed = 20;
      for (const [name, t] of params) if (!/norm\d?\.weight$|embed_norm\.weight$|norm\.weight$/.test(name)) t.data.set(randomArray(t.data.length, seed++, 0.5));
      const grads = (be: Backend) => {
        const fwd = decoderForward(be, c, params, ids, B, T, encoded);
        const g = zeroGrads(params);
        const dmemory = decoderBackward(be, c, params, fwd, captionLoss(fwd.logits.data, targets, c.vocabSize).dlogits, g);
        return { g, dmemory };
      };
      const { g, dmemory } = grads(jsBackend);
      const eps = 1e-2;
      const check = (label: string, data: Float32Array, analytic: Float32Array, f: () => number) => {
        for (const i of [...new Set([0, 1, 2, 3].map((k) => Math.floor((k * data.length) / 4)))]) {
          const orig = data[i];
          data[i] = orig + eps;
          const up = f();
          data[i] = orig - eps;
          const down = f();
          data[i] = orig;
          const fd = (up - down) / (2 * eps);
          assert.ok(Math.abs(fd - analytic[i]) <= 2e-3 + 2e-2 * Math.abs(fd), `${label}[${i}]: analytic ${analytic[i]} vs finite difference ${fd}`);
        }
      };
      for (const [name, t] of params) check(name, t.data, g.get(name)!.data, () => loss(c, params, jsBackend));
      check("memory", encoded.data, dmemory, () => loss(c, params, jsBackend));
      const native = tryNativeBackend();
      if (native) {
        const n = grads(native);
        for (const [name, t] of g) assert.ok(maxAbsDiff(t.data, n.g.get(name)!.data) <= 1e-4 * (1 + Math.max(...t.data.map(Math.abs))), name);
        assert.ok(maxAbsDiff(dmemory, n.dmemory) <= 1e-4);
      }
    });
  }
});
