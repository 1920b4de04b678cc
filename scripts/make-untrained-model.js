#!/usr/bin/env node
// Writes models/untrained-vit: a small ViT with random weights in the HF layout, so the Quick
// start can show `inspect` and `predict` end to end before any training. Its predictions mean
// nothing. Usage: node scripts/make-untrained-model.js [out-dir]
import { defaultConfig, defaultPreprocess, initParams, saveHfModel, ViT } from "../dist/src/index.js";

const out = process.argv[2] ?? "models/untrained-vit";
const config = defaultConfig({
  hiddenSize: 64, numLayers: 4, numHeads: 4, mlpSize: 256, patchSize: 16, imageSize: [224, 224],
  layerNormEps: 1e-12, numClasses: 4,
});
const model = new ViT(config, initParams(config, 2026));
saveHfModel(out, model, defaultPreprocess([224, 224]), ["cat", "coffee", "astronaut", "rocket"]);
console.log(`wrote ${out} (${model.numParameters} parameters, random weights)`);
