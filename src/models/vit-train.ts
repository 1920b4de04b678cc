// The training entry points the trainers, explain commands and tests call: `vitForward` keeping
// its activations (with dropout when training) and `vitBackward`, under their long-standing names.
import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import type { Rng } from "../random.js";
import type { Params, Tensor } from "../tensor.js";
import type { ViT } from "./vit.js";
import { vitBackward, vitForward, type ViTActivations, type ViTOutputKind } from "./vit-pass.js";

export interface TrainForward {
  logits: Tensor; // (B, classes)
  attentions: Tensor[]; // per layer (B, H, N, N)
  cache: ViTActivations;
}

export interface TokensForward {
  tokens: Tensor; // (B, N, D) every token after the final norm
  attentions: Tensor[];
  cache: ViTActivations;
}

export interface BackwardResult {
  /** Per layer (B, H, N, N): dL/d(attention probabilities), for gradient-weighted attribution. */
  attentionGrads: Tensor[];
}

function keptPass(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean, output: ViTOutputKind) {
  const c = model.config;
  const dropout = training ? { rng, hidden: c.hiddenDropout, attention: c.attentionDropout } : null;
  return vitForward(be, c, model.params, pixels, { output, keep: true, dropout });
}

/**
 * Forward pass that keeps the activations backward needs. `rng` drives dropout (the config's
 * rates) when `training`; with training = false this computes what `ViT.forward` computes.
 */
export function forwardTrain(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean): TrainForward {
  if (model.config.numClasses === 0) throw new VitlensError("training needs a classification head (numClasses > 0)");
  const pass = keptPass(model, pixels, be, rng, training, "logits");
  return { logits: pass.logits!, attentions: pass.attentions, cache: pass.acts };
}

/** The encoder view for a captioner: every token through the final norm, no head. */
export function forwardTokensTrain(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean): TokensForward {
  const pass = keptPass(model, pixels, be, rng, training, "tokens");
  return { tokens: pass.features, attentions: pass.attentions, cache: pass.acts };
}

/**
 * Backward from dL/dlogits (B, classes): adds every parameter's gradient into `grads`
 * (so gradients accumulate over micro-batches) and returns the attention-probability gradients.
 */
export function backward(model: ViT, fwd: TrainForward, dlogits: Float32Array, grads: Params, be: Backend): BackwardResult {
  return { attentionGrads: vitBackward(be, model.config, model.params, fwd.cache, dlogits, grads) };
}

/** Backward from dL/d(tokens) (B, N, D) of forwardTokensTrain; gradients add into `grads`. */
export function backwardTokens(model: ViT, fwd: TokensForward, dtokens: Float32Array, grads: Params, be: Backend): BackwardResult {
  return { attentionGrads: vitBackward(be, model.config, model.params, fwd.cache, dtokens, grads) };
}

/** Zeroed gradient buffers, one per parameter. */
export function zeroGrads(params: Params): Params {
  return new Map([...params].map(([name, t]) => [name, { data: new Float32Array(t.data.length), shape: t.shape }]));
}
