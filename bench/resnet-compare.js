#!/usr/bin/env node
// CATR's backbone at its real size: torchvision's ResNet-101 (random weights, calibrated frozen
// BN, layer4 dilated) on one 299x224 image, PyTorch and vitlens native in the same run: the
// relative difference of the features and each engine's time per image. Needs `npx tsc` first.
//
//   flock /tmp/vitlens-bench.lock node bench/resnet-compare.js [--threads 2] [--iters 5] [--dir /tmp/vitlens-resnet101]
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: o } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    iters: { type: "string", default: "5" },
    dir: { type: "string", default: "/tmp/vitlens-resnet101" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});
process.env.VITLENS_THREADS = o.threads;
process.env.VITLENS_BACKEND = "native";

// PyTorch first: it writes the checkpoint, the pixels and its features, and times itself.
const torchLine = execFileSync(o.python, [join(root, "scripts", "reference", "resnet.py"), "--full", o.dir], {
  cwd: root, encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: o.threads },
}).trim();

const { readTorchFile } = await import(join(root, "dist", "src", "checkpoint", "torch-pickle.js"));
const { readSafetensors } = await import(join(root, "dist", "src", "checkpoint", "safetensors.js"));
const { ResnetTrunk } = await import(join(root, "dist", "src", "models", "resnet.js"));

const t0 = performance.now();
const trunk = ResnetTrunk.fromStateDict(readTorchFile(join(o.dir, "resnet101.pth")).tensors, "backbone.0.body.", { dilateLayer4: true });
const loadMs = performance.now() - t0;
const ref = readSafetensors(join(o.dir, "resnet101.expected.safetensors")).tensors;
const pixels = ref.get("pixels");
const [, , h, w] = pixels.shape;
const times = [];
let out;
for (let i = 0; i <= Number(o.iters); i++) {
  const s = performance.now();
  out = trunk.forward(pixels.data, 1, h, w);
  if (i > 0) times.push(performance.now() - s); // the first call plans primitives and reorders weights
}
const want = ref.get("features").data;
let maxDiff = 0;
let maxRef = 0;
for (let i = 0; i < want.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(out.features[i] - want[i]));
  maxRef = Math.max(maxRef, Math.abs(want[i]));
}
const sorted = [...times].sort((a, b) => a - b);
const gflop = trunk.flops(h, w) / 1e9;
console.log(torchLine);
console.log(`vitlens native resnet101 ${w}x${h} threads=${o.threads}: min ${sorted[0].toFixed(1)} ms, median ${sorted[sorted.length >> 1].toFixed(1)} ms ` +
  `per image (${gflop.toFixed(1)} GFLOP: ${(gflop / (sorted[0] / 1000)).toFixed(0)} GFLOPS at the min); load + BN folding ${loadMs.toFixed(0)} ms; ` +
  `grid ${out.gh}x${out.gw}x${trunk.outChannels}; max |diff| / max |ref| = ${(maxDiff / maxRef).toExponential(2)}`);
