#!/usr/bin/env node
// onnxruntime-node forward on an ONNX export (scripts/reference/onnx_export.py): the median of
// --iters runs after one warmup, as one JSON line. bench/compare.js runs it beside vitlens and PyTorch.
//
//   node bench/onnxruntime_bench.js --model out/onnx/vit-b16-b8.onnx --batch 8 --iters 3 --threads 2
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";

const { values: o } = parseArgs({
  options: {
    model: { type: "string" },
    batch: { type: "string", default: "8" },
    "image-size": { type: "string", default: "224" },
    iters: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
  },
});
const session = await ort.InferenceSession.create(o.model, {
  intraOpNumThreads: Number(o.threads), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all",
});
const size = Number(o["image-size"]);
const shape = [Number(o.batch), 3, size, size];
const data = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i));
const feeds = { pixels: new ort.Tensor("float32", data, shape) };
await session.run(feeds);
const times = [];
for (let i = 0; i < Number(o.iters); i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(JSON.stringify({
  engine: `onnxruntime-node ${ort.env.versions?.common ?? ""}`.trim(), threads: Number(o.threads), batch: Number(o.batch),
  forward_s: sorted[Math.floor(sorted.length / 2)], forward_min_s: sorted[0],
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
await session.release();
