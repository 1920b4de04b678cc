import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import type { z } from "zod";
import { join } from "node:path";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Params } from "../tensor.js";
import { appendMetric, truncateMetrics, type MetricRecord } from "./metrics.js";
import type { Optimizer } from "./optimizer.js";
import { freshProgress, loadState, saveState, type LoadedState, type Progress } from "./run-state.js";
import { parseNewOptions, parseSavedOptions, type OptimizationOptions } from "./run-options.js";
import { readJson } from "../io/read-json.js";
import { plural } from "../words.js";
import type { PrecisionRequest } from "../backend/precision.js";

/*
 * The run machinery both trainers share: the run folder, resume, state files, metrics.jsonl,
 * best/ and last/, Ctrl-C, the NaN stop, periodic state saves and progress reporting. A trainer
 * supplies its batches, one optimisation step, and an end-of-epoch validation.
 */

export interface TrainReporter {
  log(line: string): void;
  startEpoch(epoch: number, steps: number, startStep: number): void;
  step(stats: { step: number; loss: number; accuracy: number; imagesPerSecond: number; lr: number }): void;
  endEpoch(): void;
  evalProgress?(done: number, total: number): void;
}

/** A new run's folder may be used: missing, or empty, or `force`d (checked again, then emptied, when the run starts). */
export function checkFreshRunFolder(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new VitlensError(`--out ${out}: exists and is a file`);
  if (readdirSync(out).length > 0 && !force) {
    throw new VitlensError(`--out ${out}: folder is not empty (use --resume ${out} to continue it, or --force to start over in it)`);
  }
}

/** A new run's folder: created, or emptied of an earlier run's curves and state with `force`. */
export function ensureFreshRunFolder(out: string, force: boolean): void {
  checkFreshRunFolder(out, force);
  if (existsSync(out)) {
    // --force starts over: the old curves and resumable state must not mix with the new run's.
    for (const f of readdirSync(out)) if (f === "metrics.jsonl" || f === "state.json" || /^state-\d+$/.test(f)) rmSync(join(out, f), { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
}

/** `--resume RUN`, with the precision to continue in when given (see run-precision.ts). */
export interface ResumeRequest {
  resume: string;
  precision?: PrecisionRequest;
  /** Train the run to this many epochs (more than it has done): the run is extended, and says so. */
  epochs?: number;
  /** Where openRun says what it changed (the trainer's log is not open yet). */
  note?: (line: string) => void;
}

/**
 * A trainer's run: a new one in a fresh `out` folder, or `--resume RUN` with its saved state and
 * its saved options checked against the trainer's schema. A resumed run lives where --resume
 * points (the folder may have moved since it started).
 */
export function openRun<S extends z.ZodType<{ out: string; epochs: number; schedule: string }>>(
  opts: z.input<S> | ResumeRequest, kind: "classifier" | "captioner", schema: S, force: boolean,
): { o: z.output<S>; resumed: LoadedState | null } {
  if (typeof opts === "object" && opts !== null && "resume" in opts) {
    const resumed = loadState(opts.resume, kind);
    const o = { ...parseSavedOptions(schema, resumed.options, `--resume ${opts.resume}`), out: opts.resume };
    const epochs = resumedEpochs(opts, o.epochs as number, resumed.progress.epoch);
    if (epochs !== o.epochs) {
      const cosine = o.schedule === "cosine" ? "; the cosine schedule now spans the new length, so the learning rate from here differs from the first plan" : "";
      opts.note?.(`note: --epochs ${epochs}: the run goes on to epoch ${epochs} (it was started for ${o.epochs})${cosine}`);
      o.epochs = epochs;
      recordEpochs(opts.resume, epochs);
    }
    return { o, resumed };
  }
  const o = parseNewOptions(schema, opts);
  ensureFreshRunFolder(o.out, force);
  return { o, resumed: null };
}

/** The epochs a resumed run trains to: --epochs when given (never fewer than it has done), else what it started with; a finished run needs more. */
function resumedEpochs(r: ResumeRequest, planned: number, done: number): number {
  if (r.epochs !== undefined && r.epochs < done) {
    throw new VitlensError(`--epochs ${r.epochs}: the run ${r.resume} has already trained ${plural(done, "epoch")}; give more to extend it`);
  }
  const epochs = r.epochs ?? planned;
  if (done >= epochs) {
    throw new VitlensError(`--resume ${r.resume}: the run has finished its ${plural(done, "epoch")}; add --epochs N (more than ${done}) to train it further`);
  }
  return epochs;
}

/** run.json's options say how long the run is now (the report and the runs view read it). */
function recordEpochs(run: string, epochs: number): void {
  const path = join(run, "run.json");
  if (!existsSync(path)) return;
  const info = readJson(path);
  if (typeof info.options === "object" && info.options !== null) (info.options as Record<string, unknown>).epochs = epochs;
  writeRunInfo(run, info);
}

/** What one optimisation step reports; null when the batch had nothing to train on (all skipped). */
export interface StepResult {
  loss: number;
  /** Correct predictions / counted targets (images, or tokens for a captioner). */
  correct: number;
  count: number;
  images: number;
  /** Extra fields for the step's metrics line (e.g. grad_norm). */
  record?: MetricRecord;
}

export interface StepContext {
  epoch: number; // 0-based
  step: number; // 0-based within the epoch
  globalStep: number; // 0-based over the run
  lr: number;
}

export interface EpochValidation {
  /** What best/ is chosen by (higher is better); null: fall back to the training accuracy. */
  score: number | null;
  /** Fields for the epoch's metrics line. */
  record: MetricRecord;
  /** Appended to the epoch's log line. */
  summary: string;
}

export interface RunLoopSpec<Batch> {
  run: string;
  /** Saved with every state: `--resume` rebuilds the run from them. */
  options: unknown;
  resumed: LoadedState | null;
  /** Name of the score best/ is chosen by (recorded in the state). */
  bestMetric: string;
  epochs: number;
  stepsPerEpoch: number;
  params: Params;
  optimizer: Optimizer;
  reporter: TrainReporter;
  interrupted: () => boolean;
  resumeCommand: string;
  lr(epoch: number, globalStep: number): number;
  batches(epoch: number, startStep: number, onSkip: (name: string, reason: string) => void): AsyncIterable<Batch>;
  step(batch: Batch, at: StepContext): StepResult | null;
  validate(epoch: number): Promise<EpochValidation>;
  saveModel(dir: string): void;
  /** A metrics line per step (the classifier's curves) or per epoch only. */
  stepMetrics: boolean;
  /** The epoch line's name for the training accuracy (a captioner's is per token). */
  trainAccuracyKey?: string;
  /** Before the first step of a new run: the starting weights' validation, recorded as epoch 0. */
  baseline?: () => Promise<EpochValidation | null>;
  /** Seconds between state saves within an epoch (a kill loses at most this much work). */
  saveEverySeconds?: number;
}

export interface RunLoopResult {
  interrupted: boolean;
  progress: Progress;
  last: EpochValidation | null;
}

export async function runLoop<Batch>(s: RunLoopSpec<Batch>): Promise<RunLoopResult> {
  const progress = s.resumed ? s.resumed.progress : freshProgress(s.bestMetric);
  const metricsPath = join(s.run, "metrics.jsonl");
  if (s.resumed) {
    const dropped = truncateMetrics(metricsPath, progress);
    if (dropped) s.reporter.log(`note: dropped ${plural(dropped, "metrics line")} written after the saved state (they are redone now)`);
    s.reporter.log(`continuing at epoch ${progress.epoch + 1}, step ${progress.stepInEpoch + 1} of ${s.stepsPerEpoch}`);
  } else {
    for (const w of scheduleWarnings(s.options as Partial<OptimizationOptions>, s.epochs * s.stepsPerEpoch)) s.reporter.log(`warning: ${w}`);
  }
  if (!s.resumed && s.baseline) {
    const before = await s.baseline();
    if (before) {
      appendMetric(metricsPath, { type: "epoch", epoch: 0, ...before.record, time: new Date().toISOString() });
      s.reporter.log(`before training: ${before.summary}`);
    }
  }

  const startTime = Date.now() - progress.elapsedSeconds * 1000;
  let lastStateSave = Date.now();
  const saveEvery = (s.saveEverySeconds ?? 600) * 1000;
  const save = () => {
    progress.elapsedSeconds = (Date.now() - startTime) / 1000;
    progress.optimizerStep = s.optimizer.step;
    saveState(s.run, s.params, s.optimizer, progress, s.options);
    lastStateSave = Date.now();
  };
  let last: EpochValidation | null = null;

  while (progress.epoch < s.epochs) {
    const epoch = progress.epoch;
    s.reporter.startEpoch(epoch, s.stepsPerEpoch, progress.stepInEpoch);
    let [lossSum, correct, counted, images] = [0, 0, 0, 0];
    const epochStart = Date.now();
    const fromStep = progress.stepInEpoch; // a resumed epoch starts mid-way
    const onSkip = (name: string, reason: string) => {
      progress.skipped++;
      s.reporter.log(`warning: skipped ${reason.startsWith(name) ? reason : `${name}: ${reason}`}; ${progress.skipped} skipped so far`);
    };
    for await (const batch of s.batches(epoch, progress.stepInEpoch, onSkip)) {
      const at: StepContext = { epoch, step: progress.stepInEpoch, globalStep: progress.globalStep, lr: s.lr(epoch, progress.globalStep) };
      const t0 = Date.now();
      const r = s.step(batch, at);
      if (r) {
        if (!Number.isFinite(r.loss)) {
          throw new VitlensError(
            `the loss became ${r.loss} at epoch ${epoch + 1}, step ${at.step + 1}: stopping. The last good weights are in ${join(s.run, "last")}` +
              ` and the state to resume from in ${s.run}; try a lower --lr or --clip-grad 1`,
          );
        }
        lossSum += r.loss * r.count;
        correct += r.correct;
        counted += r.count;
        images += r.images;
        if (s.stepMetrics) {
          appendMetric(metricsPath, {
            type: "step", epoch: epoch + 1, step: at.step + 1, global_step: at.globalStep + 1, loss: r.loss, accuracy: r.correct / r.count,
            lr: at.lr, ...r.record, seconds: (Date.now() - t0) / 1000, time: new Date().toISOString(),
          });
        }
        s.reporter.step({ step: at.step + 1, loss: lossSum / counted, accuracy: correct / counted, imagesPerSecond: images / ((Date.now() - epochStart) / 1000), lr: at.lr });
      }
      progress.stepInEpoch++;
      progress.globalStep++;
      // Let a Ctrl-C in: batches read from memory resolve without ever returning to the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      if (s.interrupted() || Date.now() - lastStateSave > saveEvery) {
        save();
        if (s.interrupted()) {
          s.reporter.endEpoch();
          s.reporter.log(`interrupted: state saved; continue with \`${s.resumeCommand}\``);
          return { interrupted: true, progress, last };
        }
      }
    }
    s.reporter.endEpoch();
    if (images === 0 && fromStep === 0 && progress.skipped > 0) {
      throw new VitlensError(`none of the training images could be read (${progress.skipped} skipped); nothing was trained`);
    }

    const seconds = (Date.now() - epochStart) / 1000;
    const trainLoss = counted ? lossSum / counted : null;
    const trainAccuracy = counted ? correct / counted : null;
    last = await s.validate(epoch);
    const lr = s.lr(epoch, Math.max(progress.globalStep - 1, 0));
    appendMetric(metricsPath, {
      type: "epoch", epoch: epoch + 1, train_loss: trainLoss, [s.trainAccuracyKey ?? "train_accuracy"]: trainAccuracy, ...last.record,
      lr, seconds, images_per_s: images / seconds, time: new Date().toISOString(),
    });
    s.reporter.log(
      `epoch ${epoch + 1}/${s.epochs}: train loss ${(trainLoss ?? 0).toFixed(4)} acc ${pct(trainAccuracy ?? 0)}${last.summary ? `, ${last.summary}` : ""}` +
        `, lr ${lr.toExponential(2)}, ${seconds.toFixed(0)} s`,
    );
    s.saveModel(join(s.run, "last"));
    const score = last.score ?? trainAccuracy ?? 0;
    if (score > progress.bestScore) {
      progress.bestScore = score;
      progress.bestEpoch = epoch + 1;
      s.saveModel(join(s.run, "best"));
    }
    progress.epoch = epoch + 1;
    progress.stepInEpoch = 0;
    save();
  }
  return { interrupted: false, progress, last };
}

/** A warmup the run never finishes, or one its schedule ignores: said once when the run starts. */
export function scheduleWarnings(o: Partial<OptimizationOptions>, totalSteps: number): string[] {
  const warmup = o.warmupSteps ?? 0;
  if (warmup === 0) return [];
  if (o.schedule !== "cosine") return [`--warmup-steps ${warmup} applies to --schedule cosine; this run's ${o.schedule} schedule has no warmup`];
  if (warmup >= totalSteps) {
    return [`--warmup-steps ${warmup} is longer than the whole run (${plural(totalSteps, "step")}): the learning rate never reaches --lr ${o.lr} (at most ${Number(((o.lr ?? 0) * totalSteps / warmup).toPrecision(3))}); use fewer warmup steps or more --epochs`];
  }
  return [];
}

/** run.json: what the run is, written once when it starts. */
export function writeRunInfo(run: string, info: Record<string, unknown>): void {
  writeFileAtomic(join(run, "run.json"), [JSON.stringify(info, null, 2) + "\n"]);
}

export const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
