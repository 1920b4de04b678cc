// The training entry points the trainers, explain commands and tests call: `vitForward` keeping
// its activations (with dropout when training) and `vitBackward`, under their long-standing names.
import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import type { Rng } from "../random.js";
import type { Params, Tensor } from "../tensor.js";
import type { ViT } from "./vit.js";
import { Scratch } from "../nn/scratch.js";
import { vitBackward, vitForward, type ViTActivations, type ViTOutputKind } from "./vit-pass.js";

/**
 * What a training loop keeps from step to step, so a step allocates (and page-faults) almost
 * nothing: the kept pass's activation buffers, overwritten by the next pass of the same shape
 * (a batch of another size, an epoch's last, replaces them), and backward's scratch buffers. The
 * previous step's activations and attention maps are gone once the next pass runs, and backward
 * returns no attention gradients: for loops that keep neither (trainers, bench).
 */
export class TrainWorkspace {
  readonly activations = new Scratch();
  readonly scratch = new Scratch();
}

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
  /**
   * Per layer (B, H, N, N): dL/d(attention probabilities), for gradient-weighted attribution;
   * empty when backward runs in a TrainWorkspace (a training step does not keep them).
   */
  attentionGrads: Tensor[];
}

/** How a kept pass runs: an inference pass by default. */
export interface KeptPassOptions {
  /** A training pass: dropout at the config's rates, drawn from this generator. */
  dropout?: Rng;
  /** A training loop's buffers, reused from step to step. */
  workspace?: TrainWorkspace;
}

function keptPass(model: ViT, pixels: Tensor, be: Backend, output: ViTOutputKind, o: KeptPassOptions) {
  const c = model.config;
  const dropout = o.dropout ? { rng: o.dropout, hidden: c.hiddenDropout, attention: c.attentionDropout } : null;
  return vitForward(be, c, model.params, pixels, { output, keep: true, dropout, pool: o.workspace?.activations });
}

/**
 * Forward pass that keeps the activations backward needs. With `dropout` it is a training pass;
 * without, it computes what `ViT.forward` computes (attribution, pointing).
 */
export function forwardTrain(model: ViT, pixels: Tensor, be: Backend, o: KeptPassOptions = {}): TrainForward {
  if (model.config.numClasses === 0) throw new VitlensError("training needs a classification head (numClasses > 0)");
  const pass = keptPass(model, pixels, be, "logits", o);
  return { logits: pass.logits!, attentions: pass.attentions, cache: pass.acts };
}

/** The encoder view for a captioner: every token through the final norm, no head. */
export function forwardTokensTrain(model: ViT, pixels: Tensor, be: Backend, o: KeptPassOptions = {}): TokensForward {
  const pass = keptPass(model, pixels, be, "tokens", o);
  return { tokens: pass.features, attentions: pass.attentions, cache: pass.acts };
}

/**
 * Backward from dL/dlogits (B, classes): adds every parameter's gradient into `grads`
 * (so gradients accumulate over micro-batches) and returns the attention-probability gradients.
 */
export function backward(model: ViT, fwd: TrainForward, dlogits: Float32Array, grads: Params, be: Backend, ws?: TrainWorkspace): BackwardResult {
  return { attentionGrads: vitBackward(be, model.config, model.params, fwd.cache, dlogits, grads, ws?.scratch, { attentionGrads: !ws }) };
}

/** Backward from dL/d(tokens) (B, N, D) of forwardTokensTrain; gradients add into `grads`. */
export function backwardTokens(model: ViT, fwd: TokensForward, dtokens: Float32Array, grads: Params, be: Backend, ws?: TrainWorkspace): BackwardResult {
  return { attentionGrads: vitBackward(be, model.config, model.params, fwd.cache, dtokens, grads, ws?.scratch, { attentionGrads: !ws }) };
}

/** Zeroed gradient buffers, one per parameter. */
export function zeroGrads(params: Params): Params {
  return new Map([...params].map(([name, t]) => [name, { data: new Float32Array(t.data.length), shape: t.shape }]));
}
