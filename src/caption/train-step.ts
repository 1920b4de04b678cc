import type { Backend } from "../backend/backend.js";
import { crossEntropy, type LossResult } from "../train/loss.js";
import { backwardTokens, forwardTokensTrain, zeroGrads } from "../models/vit-train.js";
import type { Params } from "../tensor.js";
import type { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import type { Captioner } from "./captioner.js";
import { decoderBackward, decoderForward } from "./decoder.js";

/** Marks a target position the loss skips (padding, and everything after <eos>). */
export const IGNORE = -1;

export type CaptionLoss = LossResult;

/** Token cross-entropy, mean over positions whose target is not IGNORE (PyTorch's ignore_index). */
export function captionLoss(logits: Float32Array, targets: Int32Array, V: number): CaptionLoss {
  return crossEntropy(logits, targets, V, 0, IGNORE);
}

export interface StepResult extends CaptionLoss {
  grads: Params; // under Captioner.allParams() names; encoder ones absent when frozen
  crossAttentions: Tensor[];
}

/**
 * Forward and backward of a teacher-forced batch: pixels (B, C, H, W), input ids (B, T) starting
 * with <bos>, targets (B, T) the ids shifted by one, IGNORE where nothing is to be predicted.
 */
export function captionerStep(
  cap: Pick<Captioner, "encoder" | "decoderConfig" | "decoderParams">, pixels: Tensor, ids: Int32Array, targets: Int32Array, T: number, be: Backend, rng: Rng, trainEncoder: boolean,
): StepResult {
  const B = pixels.shape[0];
  const enc = forwardTokensTrain(cap.encoder, pixels, be, { dropout: trainEncoder ? rng : undefined });
  const dec = decoderForward(be, cap.decoderConfig, cap.decoderParams, ids, B, T, enc.tokens);
  const loss = captionLoss(dec.logits.data, targets, cap.decoderConfig.vocabSize);
  const decoderGrads = zeroGrads(cap.decoderParams);
  const dEncoded = decoderBackward(be, cap.decoderConfig, cap.decoderParams, dec, loss.dlogits, decoderGrads);
  const grads: Params = new Map(decoderGrads);
  if (trainEncoder) {
    const encoderGrads = zeroGrads(cap.encoder.params);
    backwardTokens(cap.encoder, enc, dEncoded, encoderGrads, be);
    for (const [k, t] of encoderGrads) grads.set(`encoder.${k}`, t);
  }
  return { ...loss, grads, crossAttentions: dec.crossAttentions };
}
