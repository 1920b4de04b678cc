// Gradients of every family option (tokens, norms, pooling, layer scale, relative position bias,
// attention width, patch norms): central finite differences on the js backend, then native vs
// js gradients on the same batch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsBackend, tryNativeBackend, type Backend } from "../src/backend/index.js";
import { defaultConfig, type ViTConfig } from "../src/models/vit-config.js";
import { initParams } from "../src/models/vit-params.js";
import { vitBackward, vitForward } from "../src/models/vit-pass.js";
import { zeroGrads } from "../src/models/vit-train.js";
import { ViT } from "../src/models/vit.js";
import { Rng } from "../src/random.js";
import { crossEntropy } from "../src/train/loss.js";
import { maxAbsDiff, randomArray } from "./helpers.js";

const VARIANTS: Array<[string, Partial<ViTConfig>]> = [
  ["DeiT: distillation token and head", { distillationToken: true, distillationHead: true }],
  ["DINOv2 with registers: layer scale, positions on CLS and patches, [CLS, mean] head", { registerTokens: 2, posEmbedTokens: "cls+patches", layerScale: true, pool: "cls+avg" }],
  ["timm: registers, no_embed_class, avg pool, fc_norm", { registerTokens: 1, posEmbedTokens: "patches", pool: "avg", finalNorm: "pooled" }],
  ["timm: no class token, avg pool, token norm", { classToken: false, pool: "avg" }],
  ["CLIP: norm_pre, no patch bias, quick_gelu", { preNorm: true, patchBias: false, activation: "quick_gelu" }],
  ["BEiT: relative position bias per layer, q/v bias, layer scale, no absolute positions, pooled norm", { relativePositionBias: "layer", keyBias: false, layerScale: true, posEmbedTokens: "none", pool: "avg", finalNorm: "pooled" }],
  ["BEiT: shared relative position bias", { relativePositionBias: "shared", pool: "avg", finalNorm: "pooled" }],
  ["vit-pytorch: patch norms, attention width 12, no qkv bias, avg-all pool", { patchNorm: "in+out", attentionSize: 12, qkvBias: false, pool: "avg-all" }],
  ["nn.TransformerEncoder: post-norm, no final norm", { norm: "post", finalNorm: "none" }],
  ["post-norm with ReLU", { norm: "post", activation: "relu" }],
];

function tinyModel(overrides: Partial<ViTConfig>): ViT {
  const config = defaultConfig({
    hiddenSize: 8, numLayers: 2, numHeads: 2, mlpSize: 12, patchSize: 4, imageSize: [9, 12], numClasses: 3,
    layerNormEps: 1e-6, hiddenDropout: 0.1, attentionDropout: 0.1, ...overrides,
  });
  const params = initParams(config, 3);
  let seed = 10;
  for (const [name, t] of params) {
    if (name.endsWith("norm.weight") || /norm\d?\.weight$|norm_(pre|in)\.weight$/.test(name)) continue;
    t.data.set(randomArray(t.data.length, seed++, 0.5));
    if (overrides.keyBias === false && name.endsWith("qkv.bias")) t.data.fill(0, 8, 16); // BEiT's key bias is zero
  }
  return new ViT(config, params);
}

const pixels = { data: randomArray(2 * 3 * 9 * 12, 99), shape: [2, 3, 9, 12] }; // 9 rows: a remainder beyond two patch rows
const labels = [2, 0];

function lossOf(model: ViT, be: Backend): number {
  const fwd = vitForward(model, pixels, be, { dropout: new Rng(7) });
  return crossEntropy(fwd.logits!.data, labels, 3, 0.1).loss;
}

function gradsOf(model: ViT, be: Backend) {
  const fwd = vitForward(model, pixels, be, { dropout: new Rng(7) });
  const grads = zeroGrads(model.params);
  vitBackward(model, fwd, crossEntropy(fwd.logits!.data, labels, 3, 0.1).dlogits, grads, be);
  return grads;
}

describe("ViT family options: backward", () => {
  for (const [what, overrides] of VARIANTS) {
    it(`${what}: finite differences for every parameter tensor (js), native equal to js`, () => {
      const model = tinyModel(overrides);
      const grads = gradsOf(model, jsBackend);
      const eps = 1e-2;
      for (const [name, t] of model.params) {
        const g = grads.get(name)!.data;
        const picks = [...new Set([0, 1, 2, 3].map((i) => Math.floor((i * t.data.length) / 4)))];
        if (overrides.keyBias === false && name.endsWith("qkv.bias")) picks.push(9); // a key bias entry: its gradient is 0
        for (const i of picks) {
          const orig = t.data[i];
          t.data[i] = orig + eps;
          const up = lossOf(model, jsBackend);
          t.data[i] = orig - eps;
          const down = lossOf(model, jsBackend);
          t.data[i] = orig;
          const fd = name.endsWith("qkv.bias") && overrides.keyBias === false && i >= 8 && i < 16 ? 0 : (up - down) / (2 * eps);
          assert.ok(Math.abs(fd - g[i]) <= 2e-3 + 2e-2 * Math.abs(fd), `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd}`);
        }
      }
      const native = tryNativeBackend();
      if (native) {
        const ng = gradsOf(model, native);
        for (const [name, g] of grads) assert.ok(maxAbsDiff(g.data, ng.get(name)!.data) <= 1e-4 * (1 + Math.max(...g.data.map(Math.abs))), name);
      }
    });
  }
});
