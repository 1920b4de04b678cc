import { cpus } from "node:os";
import { Command } from "commander";
import { getBackend } from "../backend/index.js";
import { cpuFeatures } from "../backend/precision.js";
import { resolveCaptioner } from "./resolve-run.js";
import { benchCaptioner, captionerPhases } from "./bench-captioner.js";
import type { AnyCaptioner } from "../caption/evaluate.js";
import { forwardFlops } from "../models/flops.js";
import type { Backend } from "../backend/backend.js";
import { profileBackend, type Profiler } from "../backend/profile.js";
import type { NativeExtras } from "../backend/native.js";
import { vitBackward, vitForward } from "../models/vit-pass.js";
import { TrainWorkspace, zeroGrads } from "../models/vit-train.js";
import type { ViT } from "../models/vit.js";
import { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import { crossEntropy } from "../train/loss.js";
import { Optimizer } from "../train/optimizer.js";
import { loadCliModel } from "./load-model.js";
import { taskProgress } from "./progress.js";
import { writeOut } from "./stdio.js";
import { positiveInt, MODEL_HELP, precisionBackend, withCheckpointFlags, withPrecisionFlag, type CheckpointFlagValues, type PrecisionFlagValues } from "./options.js";

interface BenchOptions {
  model: string;
  captioner?: string;
  beam: number;
  tokens: number;
  batch: number;
  iters: number;
  warmup: number;
  imageSize?: [number, number];
  json?: boolean;
  train?: boolean;
  profile?: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One SGD-momentum training step on random labels, as a function to time. */
function trainStep(model: ViT, pixels: Tensor, be: Backend, batch: number): () => void {
  const names = [...model.params.keys()];
  const optimizer = new Optimizer({ kind: "sgd", momentum: 0.9, dampening: 0, nesterov: false }, [{ names, lrScale: 1, weightDecay: 0 }]);
  const grads = zeroGrads(model.params);
  const labels = Array.from({ length: batch }, (_, i) => i % model.config.numClasses);
  const rng = new Rng(2);
  const ws = new TrainWorkspace();
  return () => {
    for (const g of grads.values()) g.data.fill(0);
    const fwd = vitForward(model, pixels, be, { dropout: rng, workspace: ws });
    const { dlogits } = crossEntropy(fwd.logits!.data, labels, model.config.numClasses);
    vitBackward(model, fwd, dlogits, grads, be, { workspace: ws });
    optimizer.update(model.params, grads, 1e-5, be);
  };
}

/** Median and min seconds of a full SGD-momentum training step on random labels. */
function timeTrainStep(model: ViT, pixels: Tensor, be: Backend, opts: BenchOptions, tick: () => void): { median: number; min: number } {
  const step = trainStep(model, pixels, be, opts.batch);
  for (let i = 0; i < opts.warmup; i++, tick()) step();
  const times: number[] = [];
  for (let i = 0; i < opts.iters; i++, tick()) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { median: median(times), min: Math.min(...times) };
}

export function benchCommand(): Command {
  return withPrecisionFlag(withCheckpointFlags(new Command("bench"), "the model", "image size"))
    .description("time the forward pass (median of --iters runs after --warmup)")
    .option("--model <spec>", MODEL_HELP, "vit-b16")
    .option("--batch <n>", "batch size", positiveInt, 8)
    .option("--iters <n>", "timed runs", positiveInt, 5)
    .option("--warmup <n>", "untimed runs first (primitive creation, page faults)", positiveInt, 1)
    .option("--train", "also time a full training step: forward, backward, SGD-momentum update")
    .option("--captioner <spec>", "time one caption instead (encoder + search): a captioner folder, Hub id or preset (vit-gpt2: random weights at the real shapes)")
    .option("--beam <k>", "with --captioner: beam width", positiveInt, 4)
    .option("--tokens <n>", "with --captioner: generated tokens per caption (a Hugging Face captioner ignores EOS to make exactly n)", positiveInt, 16)
    .option("--json", 'print one object: {"forward_s", "images_per_s", "gflops", ...} (with --profile: one object per row)')
    .option("--profile", "time every backend call of one forward (and, with --train, one training step; with --captioner, one encoding and one search) by operation and shape")
    .action(async (opts: BenchOptions & CheckpointFlagValues & PrecisionFlagValues) => {
      const be = precisionBackend(opts, getBackend());
      if (opts.captioner !== undefined) {
        if (opts.profile) {
          // Loaded on the timed backend, so a backbone's prepared convolutions are timed too.
          const profiler = profileBackend(be);
          const cap = await resolveCaptioner(opts.captioner, {}, { backend: profiler.backend });
          profileCommand(captionerProfilePhases(cap, be, opts), profiler, be, opts, machine(be));
          return;
        }
        const cap = await resolveCaptioner(opts.captioner);
        const threads = (be as Partial<NativeExtras>).getThreads?.() ?? 1;
        const progress = taskProgress("bench", opts.warmup + opts.iters, "captions");
        const timed = benchCaptioner(cap, opts, be, (done) => progress.update(done));
        progress.stop();
        const r = { captioner: opts.captioner, backend: be.name, threads, ...timed, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
        if (opts.json) writeOut(JSON.stringify(r) + "\n");
        else {
          writeOut(`${opts.captioner}: one caption, beam ${r.beam}, ${r.tokens} generated tokens${r.eos_ignored ? " (EOS ignored)" : ""}, ${be.name} backend, ${threads} thread(s)\n` +
            `  median ${r.caption_s.toFixed(3)} s (min ${r.caption_min_s.toFixed(3)} s over ${opts.iters}): encoder ${r.encoder_s.toFixed(3)} s, search ${r.search_s.toFixed(3)} s\n` +
            `  peak RSS ${r.peak_rss_mb} MB\n`);
        }
        return;
      }
      const { model } = await loadCliModel(opts.model, opts, { batch: opts.batch });
      const c = model.config;
      const rng = new Rng(1);
      const pixels = {
        data: Float32Array.from({ length: opts.batch * c.numChannels * c.imageSize[0] * c.imageSize[1] }, () => rng.normal()),
        shape: [opts.batch, c.numChannels, c.imageSize[0], c.imageSize[1]],
      };
      if (opts.profile) {
        profileCommand(modelPhases(model, pixels, be, opts), profileBackend(be), be, opts, machine(be));
        return;
      }
      const runs = (opts.warmup + opts.iters) * (opts.train ? 2 : 1);
      const progress = taskProgress("bench", runs, "runs");
      let ran = 0;
      const tick = () => progress.update(++ran); // between timed runs, never inside one
      for (let i = 0; i < opts.warmup; i++, tick()) model.forward(pixels, be, { attentions: false });
      const times: number[] = [];
      for (let i = 0; i < opts.iters; i++, tick()) {
        const t0 = process.hrtime.bigint();
        model.forward(pixels, be, { attentions: false });
        times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      const forward = median(times);
      const trainStep = opts.train ? timeTrainStep(model, pixels, be, opts, tick) : null;
      progress.stop();
      const gflops = (forwardFlops(c) * opts.batch) / forward / 1e9;
      const m = machine(be);
      const result = {
        model: opts.model, backend: be.name, threads: m.threads, precision: be.precision ?? "fp32", cpu: m.cpu, isa: m.isa, peak_gflops: m.peakGflops,
        batch: opts.batch, image_size: c.imageSize, forward_s: forward, forward_min_s: Math.min(...times),
        images_per_s: opts.batch / forward, gflops, gflop_per_image: forwardFlops(c) / 1e9,
        ...(trainStep ? {
          train_step_s: trainStep.median, train_step_min_s: trainStep.min, train_images_per_s: opts.batch / trainStep.median,
          train_gflops: (TRAIN_FLOPS_PER_FORWARD * forwardFlops(c) * opts.batch) / trainStep.median / 1e9,
        } : {}),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      };
      if (opts.json) {
        writeOut(JSON.stringify(result) + "\n");
        return;
      }
      writeOut(
        `${opts.model} forward, batch ${opts.batch}, ${c.imageSize.join("x")}, ${be.name} backend, ${result.threads} thread(s), ${result.precision} products\n` +
          `  CPU ${m.cpu} (oneDNN: ${m.isa ?? "n/a"}), measured FMA peak ${m.peakGflops === null ? "n/a" : `${m.peakGflops.toFixed(0)} GFLOPS`}\n` +
          `  median ${forward.toFixed(3)} s (min ${result.forward_min_s.toFixed(3)} s over ${opts.iters})\n` +
          `  ${result.images_per_s.toFixed(2)} images/s, ${gflops.toFixed(1)} GFLOPS (${result.gflop_per_image.toFixed(1)} GFLOP/image)\n` +
          (trainStep ? `  train step (forward + backward + SGD momentum): median ${trainStep.median.toFixed(3)} s (min ${trainStep.min.toFixed(3)} s), ${(opts.batch / trainStep.median).toFixed(2)} images/s, ${result.train_gflops!.toFixed(1)} GFLOPS\n` : "") +
          `  peak RSS ${result.peak_rss_mb} MB\n`,
      );
    });
}

/** A training step's FLOPs as a multiple of the forward's: backward computes dX and dW for every product. */
const TRAIN_FLOPS_PER_FORWARD = 3;

interface Machine {
  threads: number;
  cpu: string; // model name
  isa: string | null; // what oneDNN dispatches to (native only)
  peakGflops: number | null; // measured fp32 FMA peak for `threads` (native only)
}

/** Where the numbers were measured: CPU, oneDNN's ISA, the FMA peak of the threads used. */
function machine(be: Backend): Machine {
  const native = be as Partial<NativeExtras>;
  const threads = native.getThreads?.() ?? 1;
  return {
    threads, cpu: cpus()[0]?.model.trim() ?? "unknown", isa: cpuFeatures(be)?.isa ?? null,
    peakGflops: native.fmaPeak ? steadyPeak(() => native.fmaPeak!(threads)) : null,
  };
}

/**
 * The best of `readings` runs of the FMA peak loop (~40 ms each). A reading only ever comes out
 * low — a core still waking, a neighbour's job on a shared host (seen on a 2-core EPYC: 107 and
 * 110 GFLOPS, then 190-200) — and one low reading put every product at 145% of "the peak".
 */
export function steadyPeak(read: () => number, readings = 5): number {
  let best = 0;
  for (let i = 0; i < readings; i++) best = Math.max(best, read());
  return best;
}

/** A timed phase of --profile: `prepare` runs untimed on the plain backend, `run` under the profiler. */
interface ProfilePhase {
  name: string;
  what: string; // the phase header's parenthesis
  prepare?: (be: Backend) => unknown;
  run: (be: Backend, prepared: unknown) => void;
  /** A decoding search: its products read every weight for a few rows, so GB/s bounds them, not the FMA peak. */
  memoryBound?: boolean;
}

/** --profile of a ViT: one forward and one training step (after --warmup). */
function modelPhases(model: ViT, pixels: Tensor, be: Backend, opts: BenchOptions): ProfilePhase[] {
  const what = `${be.name} backend, batch ${opts.batch}`;
  const phases: ProfilePhase[] = [{ name: "forward", what, run: (pb) => model.forward(pixels, pb, { attentions: false }) }];
  if (opts.train) {
    let step: (() => void) | undefined;
    phases.push({ name: "train step", what, run: (pb) => (step ??= trainStep(model, pixels, pb, opts.batch))() });
  }
  return phases;
}

/** --profile of a captioner: encoding one image, then the search from that encoding. */
function captionerProfilePhases(cap: AnyCaptioner, be: Backend, opts: BenchOptions): ProfilePhase[] {
  const phases = captionerPhases(cap, opts);
  return [
    { name: "encoder", what: `${be.name} backend, one image`, run: (pb) => void phases.encode(pb) },
    { name: "search", what: `${be.name} backend, beam ${opts.beam}, ${opts.tokens} tokens`, prepare: (b) => phases.encode(b), run: (pb, enc) => phases.search(enc, pb), memoryBound: true },
  ];
}

/** The share of the FMA peak every product is aimed at. */
const PRODUCT_TARGET = 0.8;

/**
 * The product shapes under PRODUCT_TARGET of the FMA peak, and their share of the phase: the line
 * a speed change aims at. Compared as the table prints them (whole percents), so the two agree.
 */
function belowTarget<R extends { op: string; shape: string; seconds: number }>(products: R[], ofPeak: (r: R) => number, total: number): string {
  const below = products.filter((r) => Math.round(100 * ofPeak(r)) < 100 * PRODUCT_TARGET);
  const share = below.reduce((a, r) => a + r.seconds, 0) / total;
  const named = below.map((r) => `${r.op} ${r.shape} ${(100 * ofPeak(r)).toFixed(0)}%`);
  return `under ${100 * PRODUCT_TARGET}% of the peak: ${below.length} of ${products.length} product shapes, ${(100 * share).toFixed(1)}% of the time${named.length ? ` (${named.join("; ")})` : ""}`;
}

/** --profile: each phase once under the profiler (after --warmup), a table each. */
function profileCommand(phases: ProfilePhase[], profiler: Profiler, be: Backend, opts: BenchOptions, m: Machine): void {
  const peak = m.peakGflops;
  const ofPeak = (gflops: number | null) => (gflops !== null && peak ? gflops / peak : null);
  const lines: string[] = [];
  if (!opts.json) {
    lines.push(`CPU ${m.cpu}, ${m.threads} thread(s), oneDNN ${m.isa ?? "n/a"}; measured fp32 FMA peak ${peak ? `${peak.toFixed(0)} GFLOPS` : "n/a"}; ${be.precision ?? "fp32"} products`);
    lines.push("");
  }
  for (const phase of phases) {
    const prepared = phase.prepare?.(be);
    for (let i = 0; i < opts.warmup; i++) phase.run(profiler.backend, prepared);
    profiler.reset();
    const t0 = process.hrtime.bigint();
    phase.run(profiler.backend, prepared);
    const total = Number(process.hrtime.bigint() - t0) / 1e9;
    const rows = profiler.rows();
    const inCalls = rows.reduce((a, r) => a + r.seconds, 0);
    const all = [...rows, { op: "(between backend calls)", shape: "JS: allocation, copies, bookkeeping", calls: 1, seconds: total - inCalls, flops: 0, bytes: 0 }];
    const rate = (r: { flops: number; bytes: number; calls: number; seconds: number }) => ({
      gflops: r.flops ? (r.flops * r.calls) / r.seconds / 1e9 : null,
      gbps: r.bytes ? (r.bytes * r.calls) / r.seconds / 1e9 : null,
    });
    if (opts.json) {
      for (const r of all) {
        const { gflops, gbps } = rate(r);
        lines.push(JSON.stringify({
          phase: phase.name, op: r.op, shape: r.shape, calls: r.calls, ms_per_call: (1000 * r.seconds) / r.calls,
          gflops, of_peak: ofPeak(gflops), gb_per_s: gbps, share: r.seconds / total, precision: be.precision ?? "fp32", peak_gflops: peak,
        }));
      }
      continue;
    }
    const flops = rows.reduce((a, r) => a + r.flops * r.calls, 0);
    const overall = flops / total / 1e9;
    const products = rows.filter((r) => r.flops).reduce((a, r) => a + r.seconds, 0);
    lines.push(`${phase.name}: ${total.toFixed(3)} s, ${overall.toFixed(1)} GFLOPS overall${peak ? ` (${((100 * overall) / peak).toFixed(0)}% of peak)` : ""}, ` +
      `products ${((100 * products) / total).toFixed(0)}% of the time (${phase.what})`);
    lines.push(`  ${"op".padEnd(24)} ${"shape".padEnd(40)} ${"calls".padStart(6)} ${"ms/call".padStart(9)} ${"GFLOPS".padStart(7)} ${"%peak".padStart(6)} ${"GB/s".padStart(6)} ${"share".padStart(6)}`);
    for (const r of all) {
      const { gflops: g, gbps } = rate(r);
      const p = ofPeak(g);
      lines.push(`  ${r.op.padEnd(24)} ${r.shape.slice(0, 40).padEnd(40)} ${String(r.calls).padStart(6)} ${((1000 * r.seconds) / r.calls).toFixed(3).padStart(9)} ` +
        `${(g === null ? "" : g.toFixed(1)).padStart(7)} ${(p === null ? "" : `${(100 * p).toFixed(0)}%`).padStart(6)} ${(gbps === null ? "" : gbps.toFixed(1)).padStart(6)} ${`${((100 * r.seconds) / total).toFixed(1)}%`.padStart(6)}`);
    }
    if (peak && !phase.memoryBound) lines.push(`  ${belowTarget(rows.filter((r) => r.flops), (r) => ofPeak(rate(r).gflops)!, total)}`);
    lines.push("");
  }
  writeOut(lines.join("\n") + "\n");
}
