import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel, type LoadedModel } from "../checkpoint/load.js";
import { saveHfModel } from "../checkpoint/save-hf.js";
import { openDataset, subset, type Dataset } from "../data/datasets.js";
import { batches, type Batch } from "../data/loader.js";
import { VitlensError } from "../errors.js";
import { backward, forwardTrain, TrainWorkspace, zeroGrads } from "../models/vit-train.js";
import { deriveSeed, Rng, shuffled } from "../random.js";
import { evaluate, type EvalResult } from "./evaluate.js";
import { frozenNames } from "./freeze.js";
import { crossEntropy } from "./loss.js";
import { clipGradNorm, noWeightDecay, Optimizer, optimizerFor, type ParamGroup } from "./optimizer.js";
import { trainOptionsSchema, type ResolvedTrainOptions, type TrainOptions } from "./run-options.js";
import { openRun, pct, runLoop, writeRunInfo, type EpochValidation, type ResumeRequest, type TrainReporter } from "./run-loop.js";
import { runBackend } from "./run-precision.js";
import { restoreParams } from "./run-state.js";
import { learningRate, scheduleFor } from "./schedule.js";

export type { TrainOptions } from "./run-options.js";
export type { TrainReporter } from "./run-loop.js";

/** The seed assignment's recipe: SGD lr 1e-5, momentum 0.9, StepLR(10, 0.5), every layer trainable. */
export const SEED_RECIPE: Partial<TrainOptions> = {
  optimizer: "sgd", lr: 1e-5, momentum: 0.9, nesterov: false, weightDecay: 0, schedule: "step", stepSize: 10, gamma: 0.5, freeze: "",
};

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

/** Names a checkpoint gets when it has none of its own (HF's LABEL_i, vitlens' integer labels). */
const unnamed = (labels: string[]) => labels.every((name, i) => name === String(i) || name === `LABEL_${i}`);

/**
 * The model to fine-tune, with the data's class names (integer-labelled data: "0", "1", ...).
 * The checkpoint's head is kept only for the same task: as many classes, and the same names
 * unless the checkpoint never named its classes. `--recipe seed` and `--new-head` always replace
 * it, as the reference workflow replaces `fc`. The run's log says which happened and why.
 */
function buildModel(o: ResolvedTrainOptions, classNames: string[]): LoadedModel {
  const base = { ...o.checkpoint, imageSize: o.imageSize ?? undefined, numClasses: classNames.length, labels: classNames, seed: o.seed, overrides: o.architecture };
  const forced = o.newHead || o.recipe === "seed";
  let loaded = loadModel(o.model, { ...base, newHead: forced });
  const replaced = loaded.notes.some((n) => n.startsWith("new head"));
  const old = loaded.model.config.id2label ? Object.values(loaded.model.config.id2label) : [];
  if (forced) {
    loaded.notes.push(o.recipe === "seed" ? "the seed recipe always trains a new head" : "--new-head: a new head");
  } else if (!replaced && old.length && !unnamed(old) && classNames.some((name, i) => old[i] !== name)) {
    loaded = loadModel(o.model, { ...base, newHead: true });
    loaded.notes.push(`new head: the checkpoint's classes (${preview(old)}) are not the data's (${preview(classNames)})`);
  } else if (!replaced && loaded.format !== "preset") {
    loaded.notes.push(`kept the checkpoint's head: ${classNames.length} classes${old.length && !unnamed(old) ? ", same names" : ""}`);
  }
  if (o.hiddenDropout !== null) loaded.model.config.hiddenDropout = o.hiddenDropout;
  if (o.attentionDropout !== null) loaded.model.config.attentionDropout = o.attentionDropout;
  loaded.labels = classNames;
  loaded.model.config.id2label = Object.fromEntries(classNames.map((l, i) => [String(i), l]));
  return loaded;
}

const preview = (names: string[]) => `${names.slice(0, 3).join(", ")}${names.length > 3 ? ", ..." : ""}`;

/** Head parameters get `headLrScale`; norms, biases and embeddings get no weight decay (timm's rule). */
function paramGroups(names: string[], frozen: Set<string>, o: ResolvedTrainOptions): ParamGroup[] {
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
  opts: TrainOptions | ResumeRequest, base: Backend, reporter: TrainReporter, interrupted: () => boolean, force = false,
): Promise<TrainResult> {
  const { o, resumed } = openRun(opts, "classifier", trainOptionsSchema, force);
  const be = runBackend(base, o, "resume" in opts ? opts.precision ?? null : undefined, (line) => reporter.log(line));
  const run = o.out;
  const { train: trainSet, val: valSet } = openDatasets(o);
  const loaded = buildModel(o, trainSet.classNames);
  const { model, preprocess } = loaded;
  if (resumed) restoreParams(model.params, resumed.params, run);
  const names = [...model.params.keys()];
  const frozen = frozenNames(o.freeze, names);
  const optimizer = new Optimizer(optimizerFor(o), paramGroups(names, frozen, o));
  const trainable = names.filter((n) => !frozen.has(n));
  if (resumed) optimizer.restore(resumed.progress.optimizerStep, resumed.optimizerState);
  const stepsPerEpoch = Math.ceil(trainSet.size / o.batchSize);
  const schedule = scheduleFor(o, stepsPerEpoch);

  if (!resumed) {
    writeRunInfo(run, {
      kind: "classifier", options: o, recipe: describeRecipe(o), model_source: loaded.source, notes: loaded.notes, config: model.config,
      train: trainSet.description, val: valSet?.description ?? null, classes: loaded.labels, backend: be.name,
    });
  }
  reporter.log(`${resumed ? "resuming" : "training"} ${loaded.source} -> ${run}`);
  reporter.log(describeRecipe(o));
  for (const n of loaded.notes) reporter.log(`note: ${n}`);
  reporter.log(`data: ${trainSet.description}${valSet ? `; validation: ${valSet.description}` : ""}`);
  reporter.log(`model: ${model.numParameters.toLocaleString("en-US")} parameters, ${trainable.length}/${names.length} tensors trainable, ${be.name} backend, ${o.precision} products`);

  const grads = zeroGrads(model.params);
  const workspace = new TrainWorkspace(); // activations and scratch reused from step to step
  const evalBatch = Math.max(o.batchSize, 32);
  const validation = async (onProgress?: (done: number) => void): Promise<EpochValidation> => {
    if (!valSet) return { score: null, record: { val_loss: null, val_accuracy: null, val_top5: null }, summary: "" };
    const r = await evaluate(model, valSet, preprocess, be, evalBatch, onProgress);
    lastVal = r;
    return { score: r.accuracy, record: { val_loss: r.loss, val_accuracy: r.accuracy, val_top5: r.top5 }, summary: `val loss ${r.loss.toFixed(4)} acc ${pct(r.accuracy)}` };
  };
  let lastVal: EvalResult | null = null;
  const result = await runLoop<Batch>({
    run, options: o, resumed, bestMetric: valSet ? "val_accuracy" : "train_accuracy", epochs: o.epochs, stepsPerEpoch,
    params: model.params, optimizer, reporter, interrupted, resumeCommand: `vitlens train --resume ${run}`, stepMetrics: true,
    lr: (epoch, step) => learningRate(schedule, o.lr, epoch, step),
    batches: (epoch, startStep, onSkip) => {
      const order = shuffled(Array.from({ length: trainSet.size }, (_, i) => i), new Rng(deriveSeed(o.seed, epoch, 0xe90c)));
      const augment = o.augment ? { minScale: o.minScale, flip: o.flip } : null;
      return batches(trainSet, order, { batchSize: o.batchSize, preprocess, augment, seed: o.seed, epoch, strict: o.strict, onSkip }, startStep);
    },
    step: (batch, at) => {
      const B = batch.labels.length;
      if (B === 0) return null;
      const fwd = forwardTrain(model, batch.pixels, be, new Rng(deriveSeed(o.seed, at.epoch, at.step, 0xd0)), true, workspace);
      const { loss, dlogits, correct } = crossEntropy(fwd.logits.data, batch.labels, model.config.numClasses, o.labelSmoothing);
      if (!Number.isFinite(loss)) return { loss, correct, count: B, images: B };
      for (const g of grads.values()) g.data.fill(0);
      backward(model, fwd, dlogits, grads, be, workspace);
      const gradNorm = clipGradNorm(grads, trainable, o.clipGrad);
      optimizer.update(model.params, grads, at.lr, be);
      return { loss, correct, count: B, images: B, record: { grad_norm: gradNorm } };
    },
    validate: () => validation((d) => reporter.evalProgress?.(d, valSet?.size ?? 0)),
    baseline: valSet ? () => validation() : undefined,
    saveModel: (dir) => saveHfModel(dir, model, preprocess, loaded.labels),
  });
  const { progress } = result;
  if (!result.interrupted) {
    reporter.log(`done: best ${valSet ? "validation" : "training"} accuracy ${pct(progress.bestScore)} (epoch ${progress.bestEpoch}); models in ${join(run, "best")} and ${join(run, "last")}`);
  }
  return { run, bestValAccuracy: progress.bestScore, lastVal, interrupted: result.interrupted };
}
