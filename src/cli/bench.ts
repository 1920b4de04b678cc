import { Command } from "commander";
import { getBackend } from "../backend/index.js";
import { loadModel } from "../checkpoint/load.js";
import { forwardFlops } from "../models/flops.js";
import { Rng } from "../random.js";
import { imageSize, positiveInt } from "./options.js";

interface BenchOptions {
  model: string;
  batch: number;
  iters: number;
  warmup: number;
  imageSize?: [number, number];
  json?: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function benchCommand(): Command {
  return new Command("bench")
    .description("time the forward pass (median of --iters runs after --warmup)")
    .option("--model <path|preset>", "model directory, .safetensors file or preset name", "vit-b16")
    .option("--batch <n>", "batch size", positiveInt, 8)
    .option("--iters <n>", "timed runs", positiveInt, 5)
    .option("--warmup <n>", "untimed runs first (primitive creation, page faults)", positiveInt, 1)
    .option("--image-size <HxW>", "image size", imageSize)
    .option("--json", 'print one object: {"forward_s", "images_per_s", "gflops", ...}')
    .action((opts: BenchOptions) => {
      const be = getBackend();
      const { model } = loadModel(opts.model, { imageSize: opts.imageSize });
      const c = model.config;
      const rng = new Rng(1);
      const pixels = {
        data: Float32Array.from({ length: opts.batch * c.numChannels * c.imageSize[0] * c.imageSize[1] }, () => rng.normal()),
        shape: [opts.batch, c.numChannels, c.imageSize[0], c.imageSize[1]],
      };
      for (let i = 0; i < opts.warmup; i++) model.forward(pixels, be);
      const times: number[] = [];
      for (let i = 0; i < opts.iters; i++) {
        const t0 = process.hrtime.bigint();
        model.forward(pixels, be);
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      const forward = median(times);
      const gflops = (forwardFlops(c) * opts.batch) / forward / 1e9;
      const result = {
        model: opts.model, backend: be.name, threads: "getThreads" in be ? (be as { getThreads(): number }).getThreads() : 1,
        batch: opts.batch, image_size: c.imageSize, forward_s: forward, forward_min_s: Math.min(...times),
        images_per_s: opts.batch / forward, gflops, gflop_per_image: forwardFlops(c) / 1e9,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      };
      if (opts.json) {
        process.stdout.write(JSON.stringify(result) + "\n");
        return;
      }
      process.stdout.write(
        `${opts.model} forward, batch ${opts.batch}, ${c.imageSize.join("x")}, ${be.name} backend, ${result.threads} thread(s)\n` +
          `  median ${forward.toFixed(3)} s (min ${result.forward_min_s.toFixed(3)} s over ${opts.iters})\n` +
          `  ${result.images_per_s.toFixed(2)} images/s, ${gflops.toFixed(1)} GFLOPS (${result.gflop_per_image.toFixed(1)} GFLOP/image)\n` +
          `  peak RSS ${result.peak_rss_mb} MB\n`,
      );
    });
}
