import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadModel } from "../checkpoint/load.js";
import type { Dataset } from "../data/datasets.js";
import { batches, type Batch } from "../data/loader.js";
import { decodeRaw, type RawImage } from "../data/raw-image.js";
import { deriveSeed, Rng, shuffled } from "../random.js";
import { clipGradNorm, noWeightDecay, Optimizer, optimizerFor, type ParamGroup } from "../train/optimizer.js";
import { captionerTrainOptionsSchema, type CaptionerTrainOptions, type ResolvedCaptionerTrainOptions } from "../train/run-options.js";
import { openRun, runLoop, writeRunInfo, type ResumeRequest, type TrainReporter } from "../train/run-loop.js";
import { runBackend } from "../train/run-precision.js";
import { learningRate, scheduleFor } from "../train/schedule.js";
import { restoreParams } from "../train/run-state.js";
import { readJson } from "../io/read-json.js";
import { Captioner } from "./captioner.js";
import { hfTeacherForcing } from "./hf-teacher-forcing.js";
import { loadAnyCaptioner } from "./load-any.js";
import { TransformersCaptioner } from "./transformers-captioner.js";
import { readCocoCaptions, type CaptionedImage, type CocoCaptions } from "./coco.js";
import { initDecoderParams, validateDecoderConfig, type DecoderConfig } from "./decoder-config.js";
import { decoderForward } from "./decoder.js";
import { captionImages, reselect, scoreCaptions, forScoring, type FolderCaptioner, type CaptionMetrics } from "./evaluate.js";
import { CaptionerWorkspace, captionerStep, captionLoss, IGNORE } from "./train-step.js";
import { BOS, EOS, PAD, Vocabulary } from "./vocabulary.js";

export type { CaptionerTrainOptions } from "../train/run-options.js";

export interface CaptionerTrainResult {
  run: string;
  interrupted: boolean;
  last: CaptionMetrics | null;
}

interface Sample { image: number; caption: number[] } // word ids, no <bos>/<eos>

/**
 * Trains a captioner with teacher forcing: RUN/{run.json, metrics.jsonl, last/, best/, state-*}.
 * Resumable exactly like classification (weights, optimizer moments, data order): the run loop is
 * the classifier's (train/run-loop.ts); best/ is chosen by held-out BLEU-4.
 */
export async function trainCaptioner(
  opts: CaptionerTrainOptions | ResumeRequest, base: Backend, reporter: TrainReporter, interrupted: () => boolean, force = false,
): Promise<CaptionerTrainResult> {
  const { o, resumed } = openRun(opts, "captioner", captionerTrainOptionsSchema, force);
  const be = runBackend(base, o, "resume" in opts ? opts.precision ?? null : undefined, (line) => reporter.log(line));
  const run = o.out;

  const { train, trainImages, valImages } = captionSplits(o);
  if (train.skippedMissing || train.skippedEmpty) {
    reporter.log(`warning: skipped ${train.skippedMissing} annotation(s) whose image is missing and ${train.skippedEmpty} empty caption(s) (--strict fails instead)`);
  }

  const cap: FolderCaptioner = resumed ? loadAnyCaptioner(join(run, "last")) : o.init ? loadAnyCaptioner(o.init) : newCaptioner(o, trainImages);
  const text = captionText(cap);
  const samples: Sample[] = trainImages.flatMap((img, i) => img.captions.map((c) => ({ image: i, caption: text.encode(c) })));
  const maxWords = text.maxUnits;
  const tooLong = samples.filter((s) => s.caption.length > maxWords).length;
  if (tooLong) reporter.log(`note: ${tooLong} caption(s) longer than ${maxWords} ${text.unit} are cut`);

  const params = cap.allParams();
  if (resumed) restoreParams(params, resumed.params, run);
  const names = [...params.keys()].filter((n) => !(o.freezeEncoder && n.startsWith("encoder.")));
  const groups: ParamGroup[] = [true, false].map((decay) => ({ names: names.filter((n) => noWeightDecay(n) !== decay), lrScale: 1, weightDecay: decay ? o.weightDecay : 0 }));
  const optimizer = new Optimizer(optimizerFor(o), groups);
  if (resumed) optimizer.restore(resumed.progress.optimizerStep, resumed.optimizerState);
  const stepsPerEpoch = Math.ceil(samples.length / o.batchSize);
  const schedule = scheduleFor(o, stepsPerEpoch);

  if (!resumed) {
    cap.save(join(run, "last")); // the folder resume rebuilds the model from
    writeRunInfo(run, {
      kind: "captioner", options: o, encoder_source: o.init ?? o.encoder, decoder: cap.decoderConfig, vocabulary: text.size,
      train: `${o.captions}: ${trainImages.length} images, ${samples.length} captions`, val: `${valImages.length} images`, backend: be.name,
    });
  }
  reporter.log(`${resumed ? "resuming" : "training"} captioner -> ${run}`);
  reporter.log(`${o.init ? `from ${o.init}: ` : ""}encoder ${o.init ? "" : `${o.encoder} `}(${o.freezeEncoder ? "frozen" : "trainable"}), decoder ${cap.decoderConfig.numLayers} layers x ${cap.decoderConfig.hiddenSize}, vocabulary ${text.size} ${text.unit}, ${o.optimizer} lr ${o.lr}`);
  reporter.log(`data: ${trainImages.length} training images (${samples.length} captions), ${valImages.length} held out`);

  const images = imageDataset(trainImages, samples);
  let last: CaptionMetrics | null = null;
  const workspace = new CaptionerWorkspace(); // buffers reused from step to step
  const result = await runLoop<Batch>({
    run, options: o, resumed, bestMetric: valImages.length ? "val_bleu4" : "train_token_accuracy", epochs: o.epochs, stepsPerEpoch,
    params, optimizer, reporter, interrupted, resumeCommand: `vitlens train-captioner --resume ${run}`, stepMetrics: false,
    trainAccuracyKey: "train_token_accuracy",
    lr: (epoch, step) => learningRate(schedule, o.lr, epoch, step),
    batches: (epoch, startStep, onSkip) => {
      const order = shuffled(samples.map((_, i) => i), new Rng(deriveSeed(o.seed, epoch)));
      return batches(images, order, { batchSize: o.batchSize, preprocess: cap.preprocess, augment: null, seed: o.seed, epoch, strict: true, onSkip }, startStep);
    },
    step: (batch, at) => {
      const { ids, targets, T } = text.forcing(batch.indices.map((i) => samples[i].caption));
      const step = captionerStep(cap, batch.pixels, ids, targets, T, be, new Rng(deriveSeed(o.seed, at.epoch, at.globalStep)), !o.freezeEncoder, workspace);
      if (Number.isFinite(step.loss)) {
        if (o.clipGrad > 0) clipGradNorm(step.grads, names, o.clipGrad);
        optimizer.update(params, step.grads, at.lr, be);
      }
      return { loss: step.loss, correct: step.correct, count: step.count, images: batch.indices.length };
    },
    validate: async () => {
      const val = await validate(cap, valImages, o, be);
      last = val.metrics;
      const m = val.metrics;
      return {
        score: m?.bleu4 ?? val.tokenAccuracy,
        record: {
          val_loss: val.loss, val_token_accuracy: val.tokenAccuracy, val_bleu4: m?.bleu4 ?? null, val_exact_match: m?.exactMatch ?? null,
          val_grounding: m?.grounding?.share ?? null, val_grounding_strict: m?.grounding?.strictShare ?? null, val_grounding_per_layer: val.groundingPerLayer,
        },
        summary: `val loss ${val.loss?.toFixed(4) ?? "-"}, token acc ${pctOrDash(val.tokenAccuracy)}` +
          (m ? `, BLEU-4 ${m.bleu4.toFixed(3)}, exact ${pctOrDash(m.exactMatch)} on ${m.images} images` +
            (m.grounding ? `, grounding ${pctOrDash(m.grounding.share)} (strict ${pctOrDash(m.grounding.strictShare)}; per layer ${val.groundingPerLayer.map(pctOrDash).join(" ")})` : "") : ""),
      };
    },
    saveModel: (dir) => cap.save(dir),
  });
  const { progress } = result;
  if (!result.interrupted) {
    reporter.log(`done: best epoch ${progress.bestEpoch} (${progress.bestMetric} ${progress.bestScore.toFixed(3)}); model in ${join(run, "best")}`);
  }
  return { run, interrupted: result.interrupted, last };
}

/** Training and held-out images: --val, or a seeded --val-split share of --captions. */
export function captionSplits(o: ResolvedCaptionerTrainOptions): { train: CocoCaptions; trainImages: CaptionedImage[]; valImages: CaptionedImage[] } {
  const train = readCocoCaptions(o.captions, o.images, o.strict);
  if (o.val) return { train, trainImages: train.images, valImages: readCocoCaptions(o.val, o.valImages ?? o.images, o.strict).images };
  const order = shuffled(train.images, new Rng(deriveSeed(o.seed, 17)));
  const nVal = Math.round(order.length * o.valSplit);
  return { train, trainImages: order.slice(nVal), valImages: order.slice(0, nVal) };
}

function newCaptioner(o: ResolvedCaptionerTrainOptions, trainImages: CaptionedImage[]): Captioner {
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
async function validate(cap: FolderCaptioner, images: CaptionedImage[], o: ResolvedCaptionerTrainOptions, be: Backend) {
  if (images.length === 0) return { loss: null, tokenAccuracy: null, metrics: null, groundingPerLayer: [] };
  const text = captionText(cap);
  const samples = images.flatMap((img, i) => img.captions.map((c) => ({ image: i, caption: text.encode(c) })));
  const ds = imageDataset(images, samples);
  let [lossSum, correct, count] = [0, 0, 0];
  for await (const batch of batches(ds, samples.map((_, i) => i), { batchSize: o.batchSize, preprocess: cap.preprocess, augment: null, seed: 0, epoch: 0, strict: true })) {
    const { ids, targets, T } = text.forcing(batch.indices.map((i) => samples[i].caption));
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
    // Greedy; a Hugging Face captioner (ViT + GPT-2, BLIP) stops where its generation settings say, as `vitlens caption` does.
    const results = (await captionImages(cap, subset.map((i) => i.file), {
      beam: 1, maxLength: cap instanceof Captioner ? cap.decoderConfig.maxLength : undefined, lengthPenalty: 1, layer: "last", head: "mean",
    }, be)).map((r) => forScoring(cap, r));
    const cell = subset.every((i) => i.items.length > 0) ? gridCell(o.captions) : null;
    metrics = scoreCaptions(results, subset, cell);
    if (cell !== null) {
      groundingPerLayer = Array.from({ length: cap.decoderConfig.numLayers }, (_, l) => scoreCaptions(results.map((r) => reselect(r, l, "mean")), subset, cell).grounding!.share);
    }
  }
  return { loss: lossSum / Math.max(count, 1), tokenAccuracy: correct / Math.max(count, 1), metrics, groundingPerLayer };
}

/** How a captioner of any kind reads captions: its units (words, BPE or WordPiece pieces) and teacher forcing. */
function captionText(cap: FolderCaptioner) {
  if (cap instanceof TransformersCaptioner) {
    const g = cap.generation;
    const maxUnits = cap.decoderConfig.maxLength - 1; // the pieces and the EOS fill the positions
    return {
      size: cap.decoderConfig.vocabSize, unit: cap.unit, maxUnits,
      encode: (c: string) => cap.tokenizer.encode(c),
      forcing: (captions: number[][]) => hfTeacherForcing(captions, { start: cap.startToken, eos: g.eosTokenId!, pad: g.padTokenId ?? g.eosTokenId!, maxPieces: maxUnits }),
    };
  }
  const maxUnits = cap.decoderConfig.maxLength - 1;
  return {
    size: cap.vocab.size, unit: "words", maxUnits,
    encode: (c: string) => cap.vocab.encode(c),
    forcing: (captions: number[][]) => teacherForcing(captions, maxUnits),
  };
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
    description: `${images.length} captioned images`, size: samples.length, labels: new Int32Array(samples.length), classNames: [], labelKind: "indices",
    name: (i) => images[samples[i].image].file, raw,
  };
}

function pctOrDash(x: number | null): string {
  return x === null ? "-" : `${(100 * x).toFixed(1)}%`;
}
