#!/usr/bin/env node
// One train-captioner step (teacher-forced forward + backward, no optimizer) of the bundled grid
// captioner, batch 32, timed over 12 steps: with its encoder trained, or FROZEN=1. Give another
// built checkout as the argument for before/after numbers (run them alternately):
//
//   node bench/captioner-train-step.js [CHECKOUT]      FROZEN=1 node bench/captioner-train-step.js
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const { loadCaptioner } = await import(`${root}/dist/src/caption/captioner.js`);
const steps = await import(`${root}/dist/src/caption/train-step.js`);
const { getBackend } = await import(`${root}/dist/src/backend/index.js`);
const { Rng } = await import(`${root}/dist/src/random.js`);

const cap = loadCaptioner(join(root, "models", "fashion-grid-captioner"));
const be = getBackend();
const [H, W] = cap.encoder.config.imageSize;
const [B, T] = [32, cap.decoderConfig.maxLength];
const pixels = { data: Float32Array.from({ length: B * 3 * H * W }, (_, i) => Math.sin(i)), shape: [B, 3, H, W] };
const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % cap.decoderConfig.vocabSize);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 11) % cap.decoderConfig.vocabSize);
const workspace = steps.CaptionerWorkspace ? new steps.CaptionerWorkspace() : undefined; // absent before it existed
const trainEncoder = !process.env.FROZEN;
const times = [];
for (let i = 0; i < 12; i++) {
  const t0 = performance.now();
  steps.captionerStep(cap, pixels, ids, targets, T, be, new Rng(i), trainEncoder, workspace);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`${root}: ${trainEncoder ? "encoder trained" : "encoder frozen"}, batch ${B}: step median ${times[6].toFixed(1)} ms (min ${times[0].toFixed(1)}), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, ${be.name} backend`);
