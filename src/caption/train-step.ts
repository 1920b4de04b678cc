import type { Backend } from "../backend/backend.js";
import { crossEntropy, type LossResult } from "../train/loss.js";
import { vitBackward, vitForward } from "../models/vit-pass.js";
import { TrainWorkspace, zeroGrads } from "../models/vit-train.js";
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
 * What a training loop keeps from step to step, as the classifier's TrainWorkspace: the encoder's
 * activations and scratch, and the gradient buffers (zeroed, not reallocated). A step's grads are
 * overwritten by the next step's: for loops that use them at once (clip, update).
 */
export class CaptionerWorkspace {
  readonly encoder = new TrainWorkspace();
  decoderGrads: Params | null = null;
  encoderGrads: Params | null = null;
}

/** Zeroed gradient buffers: the held ones refilled with zeros, else new ones. */
function zeroed(held: Params | null | undefined, params: Params): Params {
  if (!held) return zeroGrads(params);
  for (const g of held.values()) g.data.fill(0);
  return held;
}

/**
 * Forward and backward of a teacher-forced batch: pixels (B, C, H, W), input ids (B, T) starting
 * with <bos>, targets (B, T) the ids shifted by one, IGNORE where nothing is to be predicted.
 */
export function captionerStep(
  cap: Pick<Captioner, "encoder" | "decoderConfig" | "decoderParams">, pixels: Tensor, ids: Int32Array, targets: Int32Array, T: number, be: Backend, rng: Rng, trainEncoder: boolean,
  ws?: CaptionerWorkspace,
): StepResult {
  const B = pixels.shape[0];
  // A frozen encoder needs no kept activations: an inference pass, its attention maps not kept either.
  const kept = trainEncoder ? vitForward(cap.encoder, pixels, be, { output: "tokens", dropout: rng, workspace: ws?.encoder }) : null;
  const tokens = kept ? kept.features : cap.encoder.encode(pixels, be, { attentions: false }).tokens; // (B, N, D)
  const dec = decoderForward(be, cap.decoderConfig, cap.decoderParams, ids, B, T, tokens);
  const loss = captionLoss(dec.logits.data, targets, cap.decoderConfig.vocabSize);
  const decoderGrads = zeroed(ws?.decoderGrads, cap.decoderParams);
  if (ws) ws.decoderGrads = decoderGrads;
  const dEncoded = decoderBackward(be, cap.decoderConfig, cap.decoderParams, dec, loss.dlogits, decoderGrads);
  const grads: Params = new Map(decoderGrads);
  if (kept) {
    const encoderGrads = zeroed(ws?.encoderGrads, cap.encoder.params);
    if (ws) ws.encoderGrads = encoderGrads;
    vitBackward(cap.encoder, kept, dEncoded, encoderGrads, be, { workspace: ws?.encoder });
    for (const [k, t] of encoderGrads) grads.set(`encoder.${k}`, t);
  }
  return { ...loss, grads, crossAttentions: dec.crossAttentions };
}
