import { appendFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel, type CheckpointFlags } from "../checkpoint/load.js";
import type { Dataset } from "../data/datasets.js";
import { batches } from "../data/loader.js";
import { decodeRaw, type RawImage } from "../data/raw-image.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { deriveSeed, Rng, shuffled } from "../random.js";
import { clipGradNorm, noWeightDecay, Optimizer, optimizerFor, type ParamGroup } from "../train/optimizer.js";
import { loadState, saveState, type Progress } from "../train/run-state.js";
import { learningRate, scheduleFor } from "../train/schedule.js";
import { ensureFreshRunFolder, type TrainReporter } from "../train/trainer.js";
import { readJson } from "../io/read-json.js";
import { Captioner, loadCaptioner } from "./captioner.js";
import { readCocoCaptions, type CaptionedImage, type CocoCaptions } from "./coco.js";
import { initDecoderParams, validateDecoderConfig, type DecoderConfig } from "./decoder-config.js";
import { decoderForward } from "./decoder.js";
import { captionImages, reselect, scoreCaptions, type CaptionMetrics } from "./evaluate.js";
import { captionerStep, captionLoss, IGNORE } from "./train-step.js";
import { BOS, EOS, PAD, Vocabulary } from "./vocabulary.js";

export interface CaptionerTrainOptions {
  captions: string;
  images: string;
  val: string | null; // COCO captions of a held-out split (images under valImages)
  valImages: string | null;
  valSplit: number; // without --val: this share of the training images is held out
  encoder: string;
  /** --heads / --labels / --crop-pct for the encoder checkpoint (absent in runs from before these flags). */
  checkpoint?: CheckpointFlags;
  freezeEncoder: boolean;
  out: string;
  epochs: number;
  batchSize: number;
  optimizer: "sgd" | "adamw";
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: "step" | "cosine" | "constant";
  stepSize: number;
  gamma: number;
  warmupSteps: number;
  clipGrad: number;
  seed: number;
  imageSize: [number, number] | null;
  decoderLayers: number;
  decoderHidden: number | null; // default: the encoder's width
  decoderHeads: number;
  decoderMlp: number | null; // default: 4x hidden
  maxLength: number | null; // positions incl. <bos>; default: the longest training caption + 2
  minFrequency: number;
  tieEmbeddings: boolean;
  evalImages: number; // held-out images captioned (greedy) after each epoch for BLEU-4 / exact match
  strict: boolean;
}

export interface CaptionerTrainResult {
  run: string;
  interrupted: boolean;
  last: CaptionMetrics | null;
}

interface Sample { image: number; caption: number[] } // word ids, no <bos>/<eos>

/**
 * Trains a captioner with teacher forcing: RUN/{run.json, metrics.jsonl, last/, best/, state-*}.
 * Resumable exactly like classification (weights, optimizer moments, data order).
 */
export async function trainCaptioner(
  opts: CaptionerTrainOptions | { resume: string }, be: Backend, reporter: TrainReporter, interrupted: () => boolean, force = false,
): Promise<CaptionerTrainResult> {
  const resumed = "resume" in opts ? loadState(opts.resume) : null;
  const o = (resumed ? resumed.options : opts) as unknown as CaptionerTrainOptions;
  const run = "resume" in opts ? opts.resume : o.out;
  if (!resumed) {
    ensureFreshRunFolder(run, force);
    rmSync(join(run, "metrics.jsonl"), { force: true }); // --force starts the curves over
  }

  const { train, trainImages, valImages } = captionSplits(o);
  if (train.skippedMissing || train.skippedEmpty) {
    reporter.log(`warning: skipped ${train.skippedMissing} annotation(s) whose image is missing and ${train.skippedEmpty} empty caption(s) (--strict fails instead)`);
  }

  const cap = resumed ? loadCaptioner(join(run, "last")) : newCaptioner(o, trainImages);
  const vocab = cap.vocab;
  const samples: Sample[] = trainImages.flatMap((img, i) => img.captions.map((c) => ({ image: i, caption: vocab.encode(c) })));
  const maxWords = cap.decoderConfig.maxLength - 1;
  const tooLong = samples.filter((s) => s.caption.length > maxWords).length;
  if (tooLong) reporter.log(`note: ${tooLong} caption(s) longer than ${maxWords} words are cut`);

  const params = cap.allParams();
  if (resumed) {
    for (const [k, t] of resumed.params) {
      const p = params.get(k);
      if (!p || p.data.length !== t.data.length) throw new VitlensError(`--resume ${run}: state tensor ${k} does not fit the captioner in last/`);
      p.data.set(t.data);
    }
  }
  const names = [...params.keys()].filter((n) => !(o.freezeEncoder && n.startsWith("encoder.")));
  const groups: ParamGroup[] = [true, false].map((decay) => ({ names: names.filter((n) => noWeightDecay(n) !== decay), lrScale: 1, weightDecay: decay ? o.weightDecay : 0 }));
  const optimizer = new Optimizer(optimizerFor(o), groups);
  const progress: Progress = resumed?.progress ?? { epoch: 0, stepInEpoch: 0, globalStep: 0, optimizerStep: 0, bestValAccuracy: -1, bestEpoch: -1, skipped: 0, elapsedSeconds: 0 };
  if (resumed) optimizer.restore(progress.optimizerStep, resumed.optimizerState);
  const stepsPerEpoch = Math.ceil(samples.length / o.batchSize);
  const schedule = scheduleFor(o, stepsPerEpoch);

  const metric = (obj: Record<string, unknown>) => appendFileSync(join(run, "metrics.jsonl"), JSON.stringify(obj) + "\n");
  if (!resumed) {
    cap.save(join(run, "last")); // the folder resume rebuilds the model from
    writeFileAtomic(join(run, "run.json"), [JSON.stringify({
      kind: "captioner", options: o, encoder_source: o.encoder, decoder: cap.decoderConfig, vocabulary: vocab.size,
      train: `${o.captions}: ${trainImages.length} images, ${samples.length} captions`, val: `${valImages.length} images`, backend: be.name,
    }, null, 2) + "\n"]);
  }
  reporter.log(`${resumed ? "resuming" : "training"} captioner -> ${run}`);
  reporter.log(`encoder ${o.encoder} (${o.freezeEncoder ? "frozen" : "trainable"}), decoder ${cap.decoderConfig.numLayers} layers x ${cap.decoderConfig.hiddenSize}, vocabulary ${vocab.size} words, ${o.optimizer} lr ${o.lr}`);
  reporter.log(`data: ${trainImages.length} training images (${samples.length} captions), ${valImages.length} held out`);

  const images = imageDataset(trainImages, samples);
  const startTime = Date.now() - progress.elapsedSeconds * 1000;
  const save = () => {
    progress.elapsedSeconds = (Date.now() - startTime) / 1000;
    progress.optimizerStep = optimizer.step;
    saveState(run, params, optimizer, progress, o);
  };
  let last: CaptionMetrics | null = null;
  while (progress.epoch < o.epochs) {
    const epoch = progress.epoch;
    const order = shuffled(samples.map((_, i) => i), new Rng(deriveSeed(o.seed, epoch)));
    const lr = () => learningRate(schedule, o.lr, epoch, progress.globalStep);
    reporter.startEpoch(epoch, stepsPerEpoch, progress.stepInEpoch);
    let [lossSum, correct, counted, seen] = [0, 0, 0, 0];
    const epochStart = Date.now();
    for await (const batch of batches(images, order, {
      batchSize: o.batchSize, preprocess: cap.preprocess, augment: null, seed: o.seed, epoch, strict: true,
    }, progress.stepInEpoch)) {
      const { ids, targets, T } = teacherForcing(batch.indices.map((i) => samples[i].caption), maxWords);
      const step = captionerStep(cap, batch.pixels, ids, targets, T, be, new Rng(deriveSeed(o.seed, epoch, progress.globalStep)), !o.freezeEncoder);
      if (!Number.isFinite(step.loss)) throw new VitlensError(`the loss became ${step.loss} at epoch ${epoch + 1} step ${progress.stepInEpoch + 1}: lower --lr`);
      if (o.clipGrad > 0) clipGradNorm(step.grads, names, o.clipGrad);
      optimizer.update(params, step.grads, lr(), be);
      progress.stepInEpoch++;
      progress.globalStep++;
      lossSum += step.loss * step.count;
      correct += step.correct;
      counted += step.count;
      seen += batch.indices.length;
      reporter.step({ step: progress.stepInEpoch, loss: lossSum / counted, accuracy: correct / counted, imagesPerSecond: seen / ((Date.now() - epochStart) / 1000), lr: lr() });
      if (interrupted()) {
        reporter.endEpoch();
        save();
        reporter.log(`interrupted: state saved; continue with --resume ${run}`);
        return { run, interrupted: true, last };
      }
    }
    reporter.endEpoch();
    const val = await validate(cap, valImages, o, be);
    last = val.metrics;
    metric({
      type: "epoch", epoch: epoch + 1, train_loss: counted ? lossSum / counted : null, train_token_accuracy: counted ? correct / counted : null,
      val_loss: val.loss, val_token_accuracy: val.tokenAccuracy, val_bleu4: val.metrics?.bleu4 ?? null, val_exact_match: val.metrics?.exactMatch ?? null,
      val_grounding: val.metrics?.grounding?.share ?? null, val_grounding_strict: val.metrics?.grounding?.strictShare ?? null,
      val_grounding_per_layer: val.groundingPerLayer, lr: lr(), time: new Date().toISOString(),
    });
    reporter.log(`epoch ${epoch + 1}: train loss ${(lossSum / Math.max(counted, 1)).toFixed(4)}; val loss ${val.loss?.toFixed(4) ?? "-"}, token acc ${pct(val.tokenAccuracy)}` +
      (val.metrics ? `, BLEU-4 ${val.metrics.bleu4.toFixed(3)}, exact ${pct(val.metrics.exactMatch)} on ${val.metrics.images} images` +
        (val.metrics.grounding ? `, grounding ${pct(val.metrics.grounding.share)} (strict ${pct(val.metrics.grounding.strictShare)}; per layer ${val.groundingPerLayer.map(pct).join(" ")})` : "") : ""));
    progress.epoch++;
    progress.stepInEpoch = 0;
    cap.save(join(run, "last"));
    const score = val.metrics?.bleu4 ?? val.tokenAccuracy ?? 0;
    if (score > progress.bestValAccuracy) {
      progress.bestValAccuracy = score;
      progress.bestEpoch = epoch + 1;
      cap.save(join(run, "best"));
    }
    save();
  }
  reporter.log(`done: best epoch ${progress.bestEpoch} (${valImages.length ? "val BLEU-4" : "train"} ${progress.bestValAccuracy.toFixed(3)}); model in ${join(run, "best")}`);
  return { run, interrupted: false, last };
}

/** Training and held-out images: --val, or a seeded --val-split share of --captions. */
export function captionSplits(o: CaptionerTrainOptions): { train: CocoCaptions; trainImages: CaptionedImage[]; valImages: CaptionedImage[] } {
  const train = readCocoCaptions(o.captions, o.images, o.strict);
  if (o.val) return { train, trainImages: train.images, valImages: readCocoCaptions(o.val, o.valImages ?? o.images, o.strict).images };
  const order = shuffled(train.images, new Rng(deriveSeed(o.seed, 17)));
  const nVal = Math.round(order.length * o.valSplit);
  return { train, trainImages: order.slice(nVal), valImages: order.slice(0, nVal) };
}

function newCaptioner(o: CaptionerTrainOptions, trainImages: CaptionedImage[]): Captioner {
  const vocab = Vocabulary.build(trainImages.flatMap((img) => img.captions), o.minFrequency);
  const loaded = loadModel(o.encoder, { ...o.checkpoint, numClasses: 0, ...(o.imageSize ? { imageSize: o.imageSize } : {}), seed: o.seed });
  const E = loaded.model.config.hiddenSize;
  const D = o.decoderHidden ?? E;
  const longest = Math.max(...trainImages.flatMap((img) => img.captions.map((c) => vocab.encode(c).length)));
  const config: DecoderConfig = validateDecoderConfig({
    vocabSize: vocab.size, maxLength: o.maxLength ?? longest + 2, hiddenSize: D, numLayers: o.decoderLayers, numHeads: o.decoderHeads,
    mlpSize: o.decoderMlp ?? 4 * D, encoderHiddenSize: E, tieEmbeddings: o.tieEmbeddings, layerNormEps: 1e-5,
  }, "train-captioner");
  return new Captioner(loaded.model, config, initDecoderParams(config, o.seed), vocab, loaded.preprocess);
}

/**
 * Inputs <bos> w1 .. wn <pad>..., targets w1 .. wn <eos> IGNORE...: (B, T) with T the longest
 * caption in the batch + 1.
 */
export function teacherForcing(captions: number[][], maxWords: number): { ids: Int32Array; targets: Int32Array; T: number } {
  const cut = captions.map((c) => c.slice(0, maxWords));
  const T = Math.max(...cut.map((c) => c.length)) + 1;
  const ids = new Int32Array(cut.length * T).fill(PAD);
  const targets = new Int32Array(cut.length * T).fill(IGNORE);
  cut.forEach((c, b) => {
    ids[b * T] = BOS;
    c.forEach((w, t) => {
      ids[b * T + t + 1] = w;
      targets[b * T + t] = w;
    });
    targets[b * T + c.length] = EOS;
  });
  return { ids, targets, T };
}

/** Held-out loss and token accuracy (teacher forcing), then greedy captions for BLEU-4 / exact match / grounding. */
async function validate(cap: Captioner, images: CaptionedImage[], o: CaptionerTrainOptions, be: Backend) {
  if (images.length === 0) return { loss: null, tokenAccuracy: null, metrics: null, groundingPerLayer: [] };
  const samples = images.flatMap((img, i) => img.captions.map((c) => ({ image: i, caption: cap.vocab.encode(c) })));
  const ds = imageDataset(images, samples);
  let [lossSum, correct, count] = [0, 0, 0];
  for await (const batch of batches(ds, samples.map((_, i) => i), { batchSize: o.batchSize, preprocess: cap.preprocess, augment: null, seed: 0, epoch: 0, strict: true })) {
    const { ids, targets, T } = teacherForcing(batch.indices.map((i) => samples[i].caption), cap.decoderConfig.maxLength - 1);
    const tokens = cap.encoder.encode(batch.pixels, be).tokens;
    const out = decoderForward(be, cap.decoderConfig, cap.decoderParams, ids, batch.indices.length, T, tokens);
    const l = captionLoss(out.logits.data, targets, cap.decoderConfig.vocabSize);
    lossSum += l.loss * l.count;
    correct += l.correct;
    count += l.count;
  }
  const subset = images.slice(0, o.evalImages);
  let metrics: CaptionMetrics | null = null;
  let groundingPerLayer: number[] = [];
  if (subset.length) {
    const results = await captionImages(cap, subset.map((i) => i.file), { beam: 1, maxLength: cap.decoderConfig.maxLength, lengthPenalty: 1, layer: "last", head: "mean" }, be);
    const cell = subset.every((i) => i.items.length > 0) ? gridCell(o.captions) : null;
    metrics = scoreCaptions(results, subset, cell);
    if (cell !== null) {
      groundingPerLayer = Array.from({ length: cap.decoderConfig.numLayers }, (_, l) => scoreCaptions(results.map((r) => reselect(r, l, "mean")), subset, cell).grounding!.share);
    }
  }
  return { loss: lossSum / Math.max(count, 1), tokenAccuracy: correct / Math.max(count, 1), metrics, groundingPerLayer };
}

/** The grid cell size recorded by `vitlens data grids` (info.cell), or null. */
export function gridCell(captionsPath: string): number | null {
  const info = (readJson(captionsPath) as { info?: { cell?: unknown } }).info;
  return typeof info?.cell === "number" ? info.cell : null;
}

/** The loader's view of captioned images: sample i decodes its image (decoded images are cached). */
function imageDataset(images: CaptionedImage[], samples: Sample[]): Dataset {
  const cache = new Map<number, Promise<RawImage>>();
  const raw = (i: number) => {
    const image = samples[i].image;
    if (!cache.has(image)) cache.set(image, decodeRaw(images[image].file));
    return cache.get(image)!;
  };
  return {
    description: `${images.length} captioned images`, size: samples.length, labels: new Int32Array(samples.length), classNames: [],
    name: (i) => images[samples[i].image].file, raw,
  };
}

function pct(x: number | null): string {
  return x === null ? "-" : `${(100 * x).toFixed(1)}%`;
}
