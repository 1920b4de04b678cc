import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel, type CheckpointFlags, type LoadedModel } from "../checkpoint/load.js";
import { saveHfModel } from "../checkpoint/save-hf.js";
import { openDataset, subset, type Dataset } from "../data/datasets.js";
import { batches } from "../data/loader.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { ViTConfig } from "../models/vit-config.js";
import { backward, forwardTrain, zeroGrads } from "../models/vit-train.js";
import { deriveSeed, Rng, shuffled } from "../random.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { frozenNames } from "./freeze.js";
import { crossEntropy } from "./loss.js";
import { clipGradNorm, noWeightDecay, Optimizer, optimizerFor, type ParamGroup } from "./optimizer.js";
import { loadState, saveState, type Progress } from "./run-state.js";
import { learningRate, scheduleFor } from "./schedule.js";

/** Everything that defines a run; saved with its state so `--resume` rebuilds it exactly. */
export interface TrainOptions {
  model: string;
  data: string;
  val: string | null;
  valSplit: number;
  out: string;
  optimizer: "sgd" | "adamw";
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: "step" | "cosine" | "constant";
  stepSize: number;
  gamma: number;
  warmupSteps: number;
  epochs: number;
  batchSize: number;
  imageSize: [number, number] | null;
  seed: number;
  labelSmoothing: number;
  clipGrad: number; // 0: off
  freeze: string;
  headLrScale: number;
  augment: boolean;
  flip: boolean;
  minScale: number;
  hiddenDropout: number | null;
  attentionDropout: number | null;
  architecture: Partial<ViTConfig>; // preset overrides for training from scratch
  checkpoint?: CheckpointFlags; // --heads / --labels / --crop-pct (absent in runs from before these flags)
  newHead: boolean; // replace the head even if the class count matches
  strict: boolean;
  recipe: string | null;
}

/** The seed assignment's recipe: SGD lr 1e-5, momentum 0.9, StepLR(10, 0.5), every layer trainable. */
export const SEED_RECIPE: Partial<TrainOptions> = {
  optimizer: "sgd", lr: 1e-5, momentum: 0.9, nesterov: false, weightDecay: 0, schedule: "step", stepSize: 10, gamma: 0.5, freeze: "",
};

export interface TrainReporter {
  log(line: string): void;
  startEpoch(epoch: number, steps: number, startStep: number): void;
  step(stats: { step: number; loss: number; accuracy: number; imagesPerSecond: number; lr: number }): void;
  endEpoch(): void;
  evalProgress?(done: number, total: number): void;
}

export function describeRecipe(o: TrainOptions): string {
  const opt = o.optimizer === "sgd"
    ? `SGD(lr=${o.lr}, momentum=${o.momentum}${o.nesterov ? ", nesterov" : ""}, weight_decay=${o.weightDecay})`
    : `AdamW(lr=${o.lr}, betas=(0.9, 0.999), weight_decay=${o.weightDecay})`;
  const sched = o.schedule === "step" ? `StepLR(step_size=${o.stepSize} epochs, gamma=${o.gamma})`
    : o.schedule === "cosine" ? `cosine with ${o.warmupSteps} linear warmup steps` : "constant lr";
  const freeze = o.freeze ? `frozen: ${o.freeze}` : "all layers trainable";
  return `${o.recipe ? `recipe ${o.recipe}: ` : ""}${opt}, ${sched}, ${freeze}, ${o.epochs} epochs, batch ${o.batchSize}` +
    `${o.labelSmoothing ? `, label smoothing ${o.labelSmoothing}` : ""}${o.clipGrad ? `, clip grad norm ${o.clipGrad}` : ""}` +
    `${o.headLrScale !== 1 ? `, head lr x${o.headLrScale}` : ""}, augmentation ${o.augment ? `on (crop scale ${o.minScale}-1${o.flip ? ", flip" : ""})` : "off"}, seed ${o.seed}`;
}

export interface Datasets {
  train: Dataset;
  val: Dataset | null;
}

export function openDatasets(o: Pick<TrainOptions, "data" | "val" | "valSplit" | "seed">): Datasets {
  const all = openDataset(o.data);
  if (o.val) return { train: all, val: openDataset(o.val) };
  if (o.valSplit <= 0) return { train: all, val: null };
  const order = shuffled(Array.from({ length: all.size }, (_, i) => i), new Rng(deriveSeed(o.seed, 0x5b1)));
  const nVal = Math.max(1, Math.round(all.size * o.valSplit));
  if (nVal >= all.size) throw new VitlensError(`--val-split ${o.valSplit} leaves no training images out of ${all.size}`);
  return {
    train: subset(all, order.slice(nVal), `${all.description}, ${all.size - nVal} for training`),
    val: subset(all, order.slice(0, nVal), `${nVal} held out (--val-split ${o.valSplit})`),
  };
}

function buildModel(o: TrainOptions, classNames: string[]): LoadedModel {
  const base = { ...o.checkpoint, imageSize: o.imageSize ?? undefined, numClasses: classNames.length, labels: classNames, seed: o.seed, overrides: o.architecture };
  let loaded = loadModel(o.model, { ...base, newHead: o.newHead });
  const old = loaded.model.config.id2label;
  // Data without class names (IDX, <label>_ files) keep the checkpoint's names and head; named
  // classes that differ mean a new task, where the old head's rows mean nothing.
  const unnamed = classNames.every((name, i) => name === String(i));
  if (!o.newHead && old && !unnamed && classNames.some((name, i) => old[String(i)] !== name)) {
    loaded = loadModel(o.model, { ...base, newHead: true });
    loaded.notes.push(`the checkpoint's labels (${Object.values(old).slice(0, 3).join(", ")}, ...) differ from the data's (${classNames.slice(0, 3).join(", ")}, ...)`);
  }
  const labels = unnamed && old && !o.newHead && Object.keys(old).length === classNames.length
    ? classNames.map((_, i) => old[String(i)] ?? String(i))
    : classNames;
  if (o.hiddenDropout !== null) loaded.model.config.hiddenDropout = o.hiddenDropout;
  if (o.attentionDropout !== null) loaded.model.config.attentionDropout = o.attentionDropout;
  loaded.labels = labels;
  loaded.model.config.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  return loaded;
}

/** Head parameters get `headLrScale`; norms, biases and embeddings get no weight decay (timm's rule). */
function paramGroups(names: string[], frozen: Set<string>, o: TrainOptions): ParamGroup[] {
  const trainable = names.filter((n) => !frozen.has(n));
  const groups: ParamGroup[] = [];
  for (const head of [false, true]) {
    for (const decay of [true, false]) {
      const members = trainable.filter((n) => n.startsWith("head.") === head && !noWeightDecay(n) === decay);
      if (members.length) groups.push({ names: members, lrScale: head ? o.headLrScale : 1, weightDecay: decay ? o.weightDecay : 0 });
    }
  }
  return groups;
}

export function ensureFreshRunFolder(out: string, force: boolean): void {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new VitlensError(`--out ${out}: exists and is a file`);
    if (readdirSync(out).length > 0 && !force) {
      throw new VitlensError(`--out ${out}: folder is not empty (use --resume ${out} to continue it, or --force to start over in it)`);
    }
  }
  mkdirSync(out, { recursive: true });
}

export interface TrainResult {
  run: string;
  bestValAccuracy: number;
  lastVal: EvalResult | null;
  interrupted: boolean;
}

/**
 * Fine-tunes (or trains from scratch) and writes RUN/{run.json, metrics.jsonl, last/, best/,
 * state-*}. `resume` continues a run exactly: weights, optimizer moments, schedule, data order.
 */
export async function train(
  opts: TrainOptions | { resume: string }, be: Backend, reporter: TrainReporter, interrupted: () => boolean, force = false,
): Promise<TrainResult> {
  let o: TrainOptions;
  let progress: Progress = { epoch: 0, stepInEpoch: 0, globalStep: 0, optimizerStep: 0, bestValAccuracy: -1, bestEpoch: -1, skipped: 0, elapsedSeconds: 0 };
  const resumed = "resume" in opts ? loadState(opts.resume) : null;
  if (resumed) {
    o = resumed.options as unknown as TrainOptions;
    progress = resumed.progress;
  } else {
    o = opts as TrainOptions;
    ensureFreshRunFolder(o.out, force);
  }
  const run = o.out;
  const { train: trainSet, val: valSet } = openDatasets(o);
  const loaded = buildModel(o, trainSet.classNames);
  const { model, preprocess } = loaded;
  if (resumed) {
    for (const [name, t] of resumed.params) {
      const mine = model.params.get(name);
      if (!mine || mine.data.length !== t.data.length) throw new VitlensError(`--resume ${run}: saved parameter ${name} does not fit the model`);
      mine.data.set(t.data);
    }
  }
  const names = [...model.params.keys()];
  const frozen = frozenNames(o.freeze, names);
  const optimizer = new Optimizer(optimizerFor(o), paramGroups(names, frozen, o));
  const trainable = names.filter((n) => !frozen.has(n));
  if (resumed) optimizer.restore(progress.optimizerStep, resumed.optimizerState);
  const stepsPerEpoch = Math.ceil(trainSet.size / o.batchSize);
  const schedule = scheduleFor(o, stepsPerEpoch);

  const metricsPath = join(run, "metrics.jsonl");
  const metric = (obj: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(obj) + "\n");
  if (!resumed) {
    writeFileAtomic(join(run, "run.json"), [JSON.stringify({
      options: o, recipe: describeRecipe(o), model_source: loaded.source, notes: loaded.notes, config: model.config,
      train: trainSet.description, val: valSet?.description ?? null, classes: trainSet.classNames, backend: be.name,
    }, null, 2) + "\n"]);
  }
  reporter.log(`${resumed ? "resuming" : "training"} ${loaded.source} -> ${run}`);
  reporter.log(describeRecipe(o));
  for (const n of loaded.notes) reporter.log(`note: ${n}`);
  reporter.log(`data: ${trainSet.description}${valSet ? `; validation: ${valSet.description}` : ""}`);
  reporter.log(`model: ${model.numParameters.toLocaleString("en-US")} parameters, ${trainable.length}/${names.length} tensors trainable, ${be.name} backend`);
  if (resumed) reporter.log(`continuing at epoch ${progress.epoch + 1}, step ${progress.stepInEpoch + 1} of ${stepsPerEpoch}`);

  const grads = zeroGrads(model.params);
  const startTime = Date.now() - progress.elapsedSeconds * 1000;
  let lastStateSave = Date.now();
  let lastVal: EvalResult | null = null;
  const save = () => {
    progress.elapsedSeconds = (Date.now() - startTime) / 1000;
    progress.optimizerStep = optimizer.step;
    saveState(run, model.params, optimizer, progress, o);
    lastStateSave = Date.now();
  };

  if (!resumed && valSet) {
    // The baseline: validation accuracy of the starting weights (with the new head, if any).
    const before = await evaluate(model, valSet, preprocess, be, Math.max(o.batchSize, 32));
    metric({ type: "epoch", epoch: 0, val_loss: before.loss, val_accuracy: before.accuracy, val_top5: before.top5, time: new Date().toISOString() });
    reporter.log(`before training: val loss ${before.loss.toFixed(4)} acc ${pct(before.accuracy)}`);
  }

  while (progress.epoch < o.epochs) {
    const epoch = progress.epoch;
    const order = shuffled(Array.from({ length: trainSet.size }, (_, i) => i), new Rng(deriveSeed(o.seed, epoch, 0xe90c)));
    const loaderOpts = {
      batchSize: o.batchSize, preprocess, augment: o.augment ? { minScale: o.minScale, flip: o.flip } : null,
      seed: o.seed, epoch, strict: o.strict,
      onSkip: (name: string, reason: string) => {
        progress.skipped++;
        reporter.log(`warning: skipped ${name} (${reason}); ${progress.skipped} skipped so far`);
      },
    };
    reporter.startEpoch(epoch, stepsPerEpoch, progress.stepInEpoch);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const epochStart = Date.now();
    for await (const batch of batches(trainSet, order, loaderOpts, progress.stepInEpoch)) {
      const step = progress.stepInEpoch;
      const B = batch.labels.length;
      if (B > 0) {
        const lr = learningRate(schedule, o.lr, epoch, progress.globalStep);
        const t0 = Date.now();
        const fwd = forwardTrain(model, batch.pixels, be, new Rng(deriveSeed(o.seed, epoch, step, 0xd0)), true);
        const { loss, dlogits, correct: hits } = crossEntropy(fwd.logits.data, batch.labels, model.config.numClasses, o.labelSmoothing);
        if (!Number.isFinite(loss)) {
          throw new VitlensError(
            `loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}: stopping. The last good weights are in ${join(run, "last")}` +
              ` and the state to resume from in ${run}; try a lower --lr or --clip-grad 1`,
          );
        }
        for (const g of grads.values()) g.data.fill(0);
        backward(model, fwd, dlogits, grads, be);
        const gradNorm = clipGradNorm(grads, trainable, o.clipGrad);
        optimizer.update(model.params, grads, lr);
        lossSum += loss * B;
        correct += hits;
        seen += B;
        const seconds = (Date.now() - t0) / 1000;
        metric({ type: "step", epoch: epoch + 1, step: step + 1, global_step: progress.globalStep + 1, loss, accuracy: hits / B, lr, grad_norm: gradNorm, seconds, time: new Date().toISOString() });
        reporter.step({ step: step + 1, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: seen / ((Date.now() - epochStart) / 1000), lr });
      }
      progress.stepInEpoch = step + 1;
      progress.globalStep++;
      if (interrupted() || Date.now() - lastStateSave > 10 * 60 * 1000) {
        save();
        if (interrupted()) {
          reporter.endEpoch();
          reporter.log(`interrupted: state saved; continue with \`vitlens train --resume ${run}\``);
          return { run, bestValAccuracy: progress.bestValAccuracy, lastVal, interrupted: true };
        }
      }
    }
    reporter.endEpoch();

    const epochSeconds = (Date.now() - epochStart) / 1000;
    lastVal = valSet ? await evaluate(model, valSet, preprocess, be, Math.max(o.batchSize, 32), (d) => reporter.evalProgress?.(d, valSet.size)) : null;
    const lr = learningRate(schedule, o.lr, epoch, progress.globalStep - 1);
    metric({
      type: "epoch", epoch: epoch + 1, train_loss: seen ? lossSum / seen : null, train_accuracy: seen ? correct / seen : null,
      val_loss: lastVal?.loss ?? null, val_accuracy: lastVal?.accuracy ?? null, val_top5: lastVal?.top5 ?? null,
      lr, seconds: epochSeconds, images_per_s: seen / epochSeconds, time: new Date().toISOString(),
    });
    reporter.log(
      `epoch ${epoch + 1}/${o.epochs}: train loss ${(lossSum / Math.max(seen, 1)).toFixed(4)} acc ${pct(correct / Math.max(seen, 1))}` +
        (lastVal ? `, val loss ${lastVal.loss.toFixed(4)} acc ${pct(lastVal.accuracy)}` : "") + `, lr ${lr.toExponential(2)}, ${epochSeconds.toFixed(0)} s`,
    );
    saveHfModel(join(run, "last"), model, preprocess, loaded.labels);
    const score = lastVal ? lastVal.accuracy : correct / Math.max(seen, 1);
    if (score > progress.bestValAccuracy) {
      progress.bestValAccuracy = score;
      progress.bestEpoch = epoch + 1;
      saveHfModel(join(run, "best"), model, preprocess, loaded.labels);
    }
    progress.epoch = epoch + 1;
    progress.stepInEpoch = 0;
    save();
  }
  reporter.log(`done: best ${valSet ? "validation" : "training"} accuracy ${pct(progress.bestValAccuracy)} (epoch ${progress.bestEpoch}); models in ${join(run, "best")} and ${join(run, "last")}`);
  return { run, bestValAccuracy: progress.bestValAccuracy, lastVal, interrupted: false };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
