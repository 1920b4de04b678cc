import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import { planBuffers, type PassPlan } from "../nn/activation-plan.js";
import { applyMask, dropoutMask, type Dropout } from "../nn/dropout.js";
import { encoderBlockActs, encoderBlockBackward, encoderBlockForward, type EncoderBlock, type EncoderBlockActs, type EncoderBlockGrads } from "../nn/encoder-block.js";
import { layerGrads, layerWeights, type LayerSource } from "../nn/from-params.js";
import { layernorm, layernormBackward, type LayernormOutput } from "../nn/layernorm.js";
import { branchOutput } from "../nn/norm-placement.js";
import { Scratch } from "../nn/scratch.js";
import type { Rng } from "../random.js";
import type { Params, Tensor } from "../tensor.js";
import { headInputSize, type ViTConfig } from "./vit-config.js";
import { embed, embedBackward, vitDims, type EmbedActs, type ViTDims } from "./vit-embed.js";
import { headBackward, headForward, tokensBackwardFrom, tokensForward, type HeadActs } from "./vit-head.js";
import { relativeBias, relativeBiasBackward, relativePositionIndex } from "./relative-position.js";
import type { TrainWorkspace } from "./vit-train.js";

/** Block l's layers under timm's names, as weights or as gradient buffers (whichever `t` builds). */
export function vitBlock<L, N>(t: LayerSource<L, N>, l: number, c: Pick<ViTConfig, "numHeads" | "activation" | "norm">) {
  const k = `blocks.${l}`;
  const post = c.norm === "post";
  return {
    attn: { norm: t.norm(`${k}.norm1`), qkv: t.linear(`${k}.attn.qkv`), proj: t.linear(`${k}.attn.proj`), heads: c.numHeads, layerScale: t.vector(`${k}.ls1.gamma`), post },
    mlp: { norm: t.norm(`${k}.norm2`), fc1: t.linear(`${k}.mlp.fc1`), fc2: t.linear(`${k}.mlp.fc2`), activation: c.activation, layerScale: t.vector(`${k}.ls2.gamma`), post },
  };
}

/** Layer l's relative position table: its own, or the one all layers share; null without one. */
function relativeTableName(c: ViTConfig, l: number): string | null {
  if (!c.relativePositionBias) return null;
  return c.relativePositionBias === "shared" ? "rel_pos_bias.relative_position_bias_table" : `blocks.${l}.attn.relative_position_bias_table`;
}

/** What the pass ends with: the head's logits (and its input, the features), or every token after the final norm. */
export type ViTOutputKind = "logits" | "tokens";

/** What a pass runs: a ViT's configuration and parameters (a ViT, or a variant of one's config over the same weights). */
export interface ViTWeights {
  config: ViTConfig;
  params: Params;
}

/** How a pass runs: an inference pass to the logits by default. */
export interface ViTPassOptions {
  /** "logits" (the head's, with its input as features) or "tokens" (every token after the final norm). */
  output?: ViTOutputKind;
  /**
   * Keep what backward needs (the "kept" plan). Without it the residual stream is updated in
   * place and every layer overwrites one set of buffers ("inference"): nn/activation-plan.ts.
   * A pass with `dropout` or a `workspace` keeps.
   */
  keep?: boolean;
  /** A training pass: dropout at the config's rates, drawn from this generator. */
  dropout?: Rng;
  /**
   * A training loop's buffers: this pass overwrites the last one's activations (a batch of another
   * size replaces them), and vitBackward given it uses its scratch and returns no attention gradients.
   */
  workspace?: TrainWorkspace;
  /**
   * Return every layer's attention probabilities (default). false: an inference pass keeps none
   * ("output-only": a captioner's encoder, no (B, H, N, N) buffer per layer to allocate and fault in).
   */
  attentions?: boolean;
  /**
   * An output-only pass's buffers, kept by the caller from pass to pass (ViT's scoring forwards):
   * reused instead of allocated and faulted in again. Nothing the pass returns lives in them.
   */
  buffers?: Scratch;
}

/** What a pass wrote; with `keep`, everything backward reads. */
export interface ViTActivations {
  dims: ViTDims;
  output: ViTOutputKind;
  embedding: EmbedActs;
  embMask: Float32Array | null;
  preNorm: { x: Float32Array; out: LayernormOutput } | null; // norm_pre's input and output
  blocks: EncoderBlockActs[]; // per block when kept, else the one shared workspace
  head: HeadActs;
}

export interface ViTPass {
  logits: Tensor | null; // (B, classes) for output "logits" when the model has a head
  features: Tensor; // (B, Dh) the head's input (pooled, normed), or (B, N, D) every token for output "tokens"
  attentions: Tensor[]; // per layer (B, H, N, N)
  acts: ViTActivations;
}

/**
 * The ViT's one forward pass over pixels (B, C, H, W): embedding, (norm_pre), pre- or post-norm
 * blocks, then the final norm, pooling and head(s); inference and training differ only in the
 * options: what is kept, dropout.
 */
export function vitForward(model: ViTWeights, pixels: Tensor, be: Backend, o: ViTPassOptions = {}): ViTPass {
  const { config: c, params } = model;
  const output = o.output ?? "logits";
  const keep = o.keep || o.dropout !== undefined || o.workspace !== undefined;
  if (keep && output === "logits" && c.numClasses === 0) throw new VitlensError("training needs a classification head (numClasses > 0)");
  const dropout: Dropout | null = o.dropout ? { rng: o.dropout, hidden: c.hiddenDropout, attention: c.attentionDropout } : null;
  const dims = vitDims(c, pixels);
  const { B, D, H, N, A } = dims;
  const W = layerWeights(params, c.layerNormEps);
  const { x: embedded, acts: embedding } = embed(be, params, c, pixels, dims); // (B, N, D)
  const embMask = dropout ? dropoutMask(embedded.length, dropout.hidden, dropout.rng) : null;
  applyMask(embedded, embMask);
  let x = embedded;
  let preNorm: ViTActivations["preNorm"] = null;
  if (c.preNorm) {
    preNorm = { x: embedded, out: layernorm(be, W.norm("norm_pre"), embedded, B * N) };
    x = preNorm.out.out;
  }

  const s = { B, T: N };
  const sizes = { D, H, M: c.mlpSize, A };
  const plan: PassPlan = keep ? "kept" : o.attentions === false ? "output-only" : "inference";
  if (o.buffers && plan !== "output-only") throw new Error("vitForward: buffers serve an output-only pass (attentions: false, no keep)");
  const pool = o.workspace?.activations ?? o.buffers ?? new Scratch();
  const blocks: EncoderBlockActs[] = [];
  const attentions: Tensor[] = [];
  let stream = x;
  const scoreBiases = new Map<string, Float32Array>(); // BEiT: one (H, N, N) bias per table, a shared table built once
  for (let l = 0; l < c.numLayers; l++) {
    const acts = encoderBlockActs(s, sizes, planBuffers(plan, l, pool, x));
    const block: EncoderBlock = vitBlock(W, l, c);
    const table = relativeTableName(c, l);
    if (table) {
      if (!scoreBiases.has(table)) scoreBiases.set(table, relativeBias(params.get(table)!.data, relativePositionIndex(dims.gh, dims.gw), H)); // (H, N, N)
      block.attn.scoreBias = scoreBiases.get(table);
    }
    stream = encoderBlockForward(be, block, stream, s, acts, dropout);
    if (o.attentions !== false || keep) attentions.push({ data: acts.attn.att.probs, shape: [B, H, N, N] });
    blocks.push(acts);
  }

  const acts = (head: HeadActs): ViTActivations => ({ dims, output, embedding, embMask, preNorm, blocks: keep ? blocks : [], head });
  if (output === "tokens") {
    const head = tokensForward(be, c, params, stream, dims);
    return { logits: null, features: { data: head.headIn, shape: [B, N, D] }, attentions, acts: acts(head) };
  }
  const { acts: head, logits } = headForward(be, c, params, stream, dims);
  return { logits, features: { data: head.headIn, shape: [B, headInputSize(c)] }, attentions, acts: acts(head) };
}

/** The residual stream after block l of a kept pass (B*N, D), before any final norm. */
export function streamAfter(c: ViTConfig, acts: ViTActivations, l: number): Float32Array {
  const b = acts.blocks[l];
  return branchOutput(c.norm === "post", b.mlp.res, b.mlp.ln);
}

/**
 * Backward of a kept `vitForward` from dL/d(its output): dlogits (B, classes) or dtokens
 * (B, N, D). Every parameter's gradient is added into `grads` (so micro-batches accumulate);
 * returns dL/d(attention probabilities) per layer (B, H, N, N), for gradient-weighted attribution
 * — none with a `workspace` (a training step: one scratch buffer serves every layer).
 */
export function vitBackward(
  model: ViTWeights, pass: ViTPass, dout: Float32Array, grads: Params, be: Backend, o: { workspace?: TrainWorkspace } = {},
): Tensor[] {
  const { config: c, params } = model;
  const acts = pass.acts;
  if (acts.blocks.length !== c.numLayers) throw new Error("vitBackward: the pass kept no activations (run vitForward with keep)");
  const scratch = o.workspace?.scratch ?? new Scratch();
  const { dims } = acts;
  const { B, D, H, N, A } = dims;
  const W = layerWeights(params, c.layerNormEps);
  const G = layerGrads(grads);
  const dx = scratch.get("vit.dstream", B * N * D); // dL/d(residual stream) (B, N, D)
  if (acts.output === "logits") headBackward(be, c, params, grads, acts.head, dout, dims, dx);
  else tokensBackwardFrom(be, c, params, grads, acts.head, dout, dims, dx);
  const s = { B, T: N };
  const keep = !o.workspace;
  const attentionGrads: Tensor[] = keep ? new Array(c.numLayers) : [];
  const shared = keep ? undefined : scratch.get("vit.dprobs", B * H * N * N);
  // BEiT: the score bias's gradient, scattered back into its table (backward reads the saved probabilities, never the bias)
  const dbias = c.relativePositionBias ? scratch.get("vit.dbias", H * N * N) : null;
  const index = c.relativePositionBias ? relativePositionIndex(dims.gh, dims.gw) : null;
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const block: EncoderBlock = vitBlock(W, l, c);
    const gradBlock: EncoderBlockGrads = vitBlock(G, l, c);
    const table = relativeTableName(c, l);
    if (table) gradBlock.attn.scoreBias = dbias!.fill(0);
    const dprobs = encoderBlockBackward(be, block, gradBlock, s, acts.blocks[l], dx, scratch, shared);
    if (table && grads.has(table)) relativeBiasBackward(dbias!, index!, H, grads.get(table)!.data);
    // BEiT's key bias is a constant zero (timm registers it as a buffer): it gets no gradient
    if (c.keyBias === false) grads.get(`blocks.${l}.attn.qkv.bias`)?.data.fill(0, A, 2 * A);
    if (keep) attentionGrads[l] = { data: dprobs, shape: [B, H, N, N] };
  }
  if (acts.preNorm) {
    const dembedded = scratch.get("vit.dembedded", B * N * D);
    layernormBackward(be, W.norm("norm_pre"), G.norm("norm_pre"), { x: acts.preNorm.x, saved: acts.preNorm.out, dout: dx, dx: dembedded, rows: B * N });
    dx.set(dembedded);
  }
  // Embeddings: x = drop([prefix tokens, patch_embed(patches)] + pos)
  applyMask(dx, acts.embMask);
  embedBackward(be, params, grads, dims, acts.embedding, dx, c);
  return attentionGrads;
}
