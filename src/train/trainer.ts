import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel, replaceHead, type LoadedModel } from "../checkpoint/load.js";
import { hfFamilyFor, saveHfModel } from "../checkpoint/save-hf.js";
import { saveTimmModel, timmCannotBuild } from "../checkpoint/save-timm.js";
import { existsSync } from "node:fs";
import { alignToModel, emptyClasses, matchClassNames, populatedClassCount, preview } from "../data/classes.js";
import { dataSplits, openData, subset, type Dataset } from "../data/datasets.js";
import { namedSplitWish, preferredSplit, type DatasetSelection, type SplitWish } from "../data/hf-dataset.js";
import { setExifRotate } from "../data/raw-image.js";
import { checkTrainingFits } from "../models/memory-fit.js";
import { VIT_PRESETS } from "../models/vit-config.js";
import { batches, type Batch } from "../data/loader.js";
import { VitlensError } from "../errors.js";
import { plural } from "../words.js";
import { vitBackward, vitForward } from "../models/vit-pass.js";
import { TrainWorkspace, zeroGrads } from "../models/vit-train.js";
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
  return `${o.recipe ? `recipe ${o.recipe}: ` : ""}${opt}, ${sched}, ${freeze}, ${plural(o.epochs, "epoch")}, batch ${o.batchSize}` +
    `${o.labelSmoothing ? `, label smoothing ${o.labelSmoothing}` : ""}${o.clipGrad ? `, clip grad norm ${o.clipGrad}` : ""}` +
    `${o.headLrScale !== 1 ? `, head lr x${o.headLrScale}` : ""}, augmentation ${o.augment ? `on (crop scale ${o.minScale}-1${o.flip ? ", flip" : ""})` : "off"}, seed ${o.seed}`;
}

export interface Datasets {
  train: Dataset;
  val: Dataset | null;
  /** degenerate data, said once: empty classes, validation classes the training data lacks */
  warnings: string[];
}

/**
 * --data and --val (or --val-split of --data). A dataset with splits (Hugging Face) trains on
 * `train` (or --split) and validates on `validation`, else `test`, unless --val is given.
 */
const TRAIN_SPLIT = "train";
/** The held-out split validated on (of --data when it has splits, or of --val): the first of these the data has. */
const HELD_OUT_SPLITS = ["validation", "test"];

/** What openDatasets reads of Hub datasets (`hf:` ids), so only those parquet files are downloaded. */
export function trainDataSelection(o: { split?: string; config?: string; val: boolean }): { data: DatasetSelection; val: DatasetSelection } {
  const trainSplit: SplitWish = o.split ? namedSplitWish(o.split) : { prefer: [TRAIN_SPLIT], otherwise: "first-split" };
  const heldOut: SplitWish = { prefer: HELD_OUT_SPLITS, notChosen: true, otherwise: "skip" };
  return {
    data: { config: o.config, splits: o.val ? [trainSplit] : [trainSplit, heldOut] },
    val: { config: o.config, splits: [{ prefer: HELD_OUT_SPLITS, otherwise: "first-split" }] },
  };
}

export async function openDatasets(o: Pick<ResolvedTrainOptions, "data" | "val" | "valSplit" | "seed" | "dataOptions">): Promise<Datasets> {
  const dataOptions = o.dataOptions ?? {};
  const all = await openData(o.data, { ...dataOptions, preferSplits: [TRAIN_SPLIT] });
  const warnings: string[] = [];
  const empty = emptyClasses(all);
  if (empty.length) warnings.push(`--data ${o.data}: class(es) with no images: ${preview(empty, 5)}`);
  if (o.val) return { train: all, val: await openData(o.val, { ...dataOptions, split: undefined, preferSplits: HELD_OUT_SPLITS }), warnings };
  const splits = dataSplits(o.data, dataOptions);
  // never the split trained on: --split, else train, else the first split (what openData read above)
  const trained = splits ? dataOptions.split ?? preferredSplit(splits, [TRAIN_SPLIT]) ?? splits[0] : undefined;
  const heldOut = splits && preferredSplit(splits, HELD_OUT_SPLITS, trained);
  if (heldOut) return { train: all, val: await openData(o.data, { ...dataOptions, split: heldOut }), warnings };
  if (o.valSplit <= 0) return { train: all, val: null, warnings };
  const order = shuffled(Array.from({ length: all.size }, (_, i) => i), new Rng(deriveSeed(o.seed, 0x5b1)));
  const nVal = Math.max(1, Math.round(all.size * o.valSplit));
  if (nVal >= all.size) throw new VitlensError(`--val-split ${o.valSplit} leaves no training images out of ${all.size}`);
  return {
    train: subset(all, order.slice(nVal), `${all.description}, ${all.size - nVal} for training`),
    val: subset(all, order.slice(0, nVal), `${nVal} held out (--val-split ${o.valSplit})`),
    warnings,
  };
}

/** Names a checkpoint gets when it has none of its own (HF's LABEL_i, vitlens' integer labels). */
const unnamed = (labels: string[]) => labels.every((name, i) => name === String(i) || name === `LABEL_${i}`);

/**
 * Keep the checkpoint's head, or train a new one: the one rule of data/classes.ts. Named data
 * keeps a named head when every data class matches one of its classes by name (the data is then
 * relabelled to the head's indices); integer labels keep it when the counts match; a head that
 * never named its classes is kept for as many classes. Returns the head's class names, or null
 * with the reason for a new head.
 */
function headDecision(data: Dataset, old: string[]): { keep: string[]; note: string } | { keep: null; note: string } {
  const dataCount = data.labelKind === "indices" ? data.labels.reduce((m, v) => Math.max(m, v), -1) + 1 : data.classNames.length;
  if (old.length === 0) return { keep: null, note: "the checkpoint has no classification head" };
  if (unnamed(old) || data.labelKind === "indices") {
    if (dataCount !== old.length) return { keep: null, note: `the checkpoint has ${old.length} classes, the data ${dataCount}` };
    return data.labelKind === "indices" && !unnamed(old)
      ? { keep: old, note: `kept the checkpoint's head: the data's integer labels 0-${dataCount - 1} are its ${old.length} classes (${preview(old)})` }
      : { keep: data.classNames, note: `kept the checkpoint's head: ${old.length} classes, which it never named; the data's names in index order` };
  }
  const { unmatched } = matchClassNames(data.classNames, old);
  if (unmatched.length) return { keep: null, note: `the data's class(es) ${preview(unmatched)} match none of the checkpoint's ${old.length} (${preview(old)})` };
  const same = data.classNames.length === old.length;
  return { keep: old, note: `kept the checkpoint's head: ${same ? "all" : `${data.classNames.length} of`} its ${old.length} classes, matched by name` };
}

/**
 * The model to fine-tune and its class names. `--recipe seed` and `--new-head` always replace the
 * head, as the reference workflow replaces `fc`; otherwise headDecision. The run's log says which
 * happened and why.
 */
function buildModel(o: ResolvedTrainOptions, data: Dataset): LoadedModel {
  const forced = o.newHead || o.recipe === "seed";
  const base = { ...o.checkpoint, imageSize: o.imageSize ?? undefined, seed: o.seed, overrides: o.architecture };
  const fresh = (note: string | null) => {
    const l = loadModel(o.model, { ...base, numClasses: data.classNames.length, labels: data.classNames, newHead: true });
    if (note) l.notes = [...l.notes.filter((n) => !n.startsWith("new head")), `new head: ${data.classNames.length} classes, randomly initialised (${note})`];
    return l;
  };
  let loaded: LoadedModel;
  if (forced) {
    loaded = fresh(o.recipe === "seed" ? "the seed recipe always trains a new head" : "--new-head");
  } else if (o.model in VIT_PRESETS && !existsSync(o.model)) {
    loaded = loadModel(o.model, { ...base, numClasses: data.classNames.length, labels: data.classNames });
  } else {
    loaded = loadModel(o.model, base);
    const decision = headDecision(data, loaded.model.config.numClasses ? loaded.labels : []);
    if (decision.keep) {
      loaded.notes.push(decision.note);
      loaded.labels = decision.keep;
    } else {
      replaceHead(loaded, data.classNames.length, o.seed);
      loaded.notes.push(`new head: ${data.classNames.length} classes, randomly initialised (${decision.note})`);
      loaded.labels = data.classNames;
    }
  }
  if (o.hiddenDropout !== null) loaded.model.config.hiddenDropout = o.hiddenDropout;
  if (o.attentionDropout !== null) loaded.model.config.attentionDropout = o.attentionDropout;
  loaded.model.config.id2label = Object.fromEntries(loaded.labels.map((l, i) => [String(i), l]));
  return loaded;
}

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

/** Training and validation data in the head's classes (data/classes.ts), with what did not fit said once. */
function alignDatasets(d: Datasets, head: string[], o: ResolvedTrainOptions): { trainSet: Dataset; valSet: Dataset | null; warnings: string[] } {
  const trainSet = alignToModel(d.train, head, `--data ${o.data}`).ds; // every training class matches: headDecision
  const warnings: string[] = [];
  if (!d.val) return { trainSet, valSet: null, warnings };
  const where = o.val ? `--val ${o.val}` : `the validation data of --data ${o.data} (${d.val.description})`;
  const val = alignToModel(d.val, head, where);
  if (val.unmatched.length) warnings.push(`validation class(es) ${preview(val.unmatched)} are not among the model's classes: ${val.dropped} validation image(s) left out`);
  const trained = new Set(trainSet.labels);
  const unseen = [...new Set(val.ds.labels)].filter((y) => !trained.has(y)).map((y) => head[y]);
  if (unseen.length) warnings.push(`validation class(es) ${preview(unseen)} have no training images`);
  if (val.ds.size === 0) throw new VitlensError(`${where}: none of its images is of a class the model has (${preview(head)})`);
  return { trainSet, valSet: val.ds, warnings };
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
  setExifRotate(o.exifRotate);
  const datasets = await openDatasets(o);
  for (const w of datasets.warnings) reporter.log(`warning: ${w}`);
  if (populatedClassCount(datasets.train) < 2) {
    const held = datasets.train.classNames.filter((_, i) => datasets.train.labels.includes(i));
    throw new VitlensError(`--data ${o.data}: ${held.length === 0 ? "no class holds images" : `only class ${preview(held)} holds images`}; a classifier needs at least two`);
  }
  const loaded = buildModel(o, datasets.train);
  checkTrainingFits(loaded.model.config, o.batchSize, loaded.model.numParameters); // before the first step, not deep into it
  const { trainSet, valSet, warnings } = alignDatasets(datasets, loaded.labels, o);
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
  for (const w of warnings) reporter.log(`warning: ${w}`);
  reporter.log(`data: ${trainSet.description}${valSet ? `; validation: ${valSet.description}` : ""}`);
  reporter.log(`model: ${model.numParameters.toLocaleString("en-US")} parameters, ${trainable.length}/${names.length} tensors trainable, ${be.name} backend, ${o.precision} products`);

  const hf = hfFamilyFor(model.config);
  const hfLayout = !("reason" in hf); // otherwise timm's layout, which has every option
  if ("reason" in hf) reporter.log(`note: best/ and last/ are written in timm's layout: ${hf.reason}${timmCannotBuild(model.config) ? ` (and timm cannot build it either: ${timmCannotBuild(model.config)}; vitlens reads it back)` : ""}`);
  const grads = zeroGrads(model.params);
  const workspace = new TrainWorkspace(); // activations and scratch reused from step to step
  const evalBatch = Math.max(o.batchSize, 32);
  const validation = async (onProgress?: (done: number) => void): Promise<EpochValidation> => {
    if (!valSet) return { score: null, record: { val_loss: null, val_accuracy: null, val_top5: null }, summary: "" };
    // the one bad-file policy: each unreadable validation image named once per run, none at all is an error
    const r = await evaluate(model, valSet, preprocess, be, evalBatch, onProgress, o.strict, (reason) => {
      if (!namedValSkips.has(reason)) reporter.log(`warning: skipped ${reason} (validation)`);
      namedValSkips.add(reason);
    });
    if (r.samples === 0) throw new VitlensError(`validation: none of the ${valSet.size} validation image(s) could be read (${r.skippedFiles.length} skipped)`);
    lastVal = r;
    return { score: r.accuracy, record: { val_loss: r.loss, val_accuracy: r.accuracy, val_top5: r.top5 }, summary: `val loss ${r.loss.toFixed(4)} acc ${pct(r.accuracy)}` };
  };
  let lastVal: EvalResult | null = null;
  const namedValSkips = new Set<string>();
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
      const fwd = vitForward(model, batch.pixels, be, { dropout: new Rng(deriveSeed(o.seed, at.epoch, at.step, 0xd0)), workspace });
      const { loss, dlogits, correct } = crossEntropy(fwd.logits!.data, batch.labels, model.config.numClasses, o.labelSmoothing);
      if (!Number.isFinite(loss)) return { loss, correct, count: B, images: B };
      for (const g of grads.values()) g.data.fill(0);
      vitBackward(model, fwd, dlogits, grads, be, { workspace });
      const gradNorm = clipGradNorm(grads, trainable, o.clipGrad);
      optimizer.update(model.params, grads, at.lr, be);
      return { loss, correct, count: B, images: B, record: { grad_norm: gradNorm } };
    },
    validate: () => validation((d) => reporter.evalProgress?.(d, valSet?.size ?? 0)),
    baseline: valSet ? () => validation() : undefined,
    saveModel: (dir) => void (hfLayout ? saveHfModel : saveTimmModel)(dir, model, preprocess, loaded.labels),
  });
  const { progress } = result;
  if (!result.interrupted) {
    reporter.log(`done: best ${valSet ? "validation" : "training"} accuracy ${pct(progress.bestScore)} (epoch ${progress.bestEpoch}); models in ${join(run, "best")} and ${join(run, "last")}`);
  }
  return { run, bestValAccuracy: progress.bestScore, lastVal, interrupted: result.interrupted };
}
