import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import { attention, attentionBackward, attentionBuffers, attentionScratch } from "../nn/attention.js";
import { applyMask, dropoutMask } from "../nn/dropout.js";
import { layernorm, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward } from "../nn/linear.js";
import type { Rng } from "../random.js";
import type { Tensor } from "../tensor.js";
import type { Params } from "../tensor.js";
import type { ViT } from "./vit.js";
import { embed, vitDims, type ViTDims } from "./vit-embed.js";

/** What one block's backward needs, kept by the training forward (llm.c style). */
interface BlockCache {
  xIn: Float32Array; // (B*N, D) residual stream entering the block
  ln1: LayernormOutput;
  heads: Float32Array; // (3, B, H, N, hd) q, k, v
  probs: Float32Array; // (B, H, N, N) attention probabilities (before dropout)
  probsUsed: Float32Array; // what multiplied v: probs after attention dropout
  attMask: Float32Array | null;
  context: Float32Array; // (B*N, D)
  projMask: Float32Array | null;
  xMid: Float32Array; // (B*N, D) after the attention residual
  ln2: LayernormOutput;
  hidden: Float32Array; // (B*N, M) fc1 output before GELU (GELU is recomputed in backward)
  fc2Mask: Float32Array | null;
}

export interface TrainForward {
  logits: Tensor; // (B, classes)
  attentions: Tensor[]; // per layer (B, H, N, N)
  cache: {
    dims: ViTDims;
    patches: Float32Array; // (B*P, C*p*p)
    embMask: Float32Array | null;
    blocks: BlockCache[];
    cls: Float32Array; // (B, D) CLS tokens before the final norm
    final: LayernormOutput; // (B, D)
  };
}

export interface BackwardResult {
  /** Per layer (B, H, N, N): dL/d(attention probabilities), for gradient-weighted attribution. */
  attentionGrads: Tensor[];
}

/**
 * Forward pass that keeps the activations backward needs. `rng` drives dropout (the config's
 * rates) when `training`; with training = false this computes what `ViT.forward` computes.
 */
export function forwardTrain(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean): TrainForward {
  const c = model.config;
  if (c.numClasses === 0) throw new VitlensError("training needs a classification head (numClasses > 0)");
  const p = (name: string) => model.params.get(name)!.data;
  const { x, attentions, dims, patches, embMask, blocks } = forwardBlocks(model, pixels, be, rng, training);
  const { B, D, N } = dims;
  const cls = new Float32Array(B * D);
  for (let b = 0; b < B; b++) cls.set(x.subarray(b * N * D, b * N * D + D), b * D);
  const final = layernorm(be, cls, B, D, p("norm.weight"), p("norm.bias"), c.layerNormEps);
  const logits = linear(be, final.out, B, D, p("head.weight"), p("head.bias"), c.numClasses);
  return { logits: { data: logits, shape: [B, c.numClasses] }, attentions, cache: { dims, patches, embMask, blocks, cls, final } };
}

export interface TokensForward {
  tokens: Tensor; // (B, N, D) every token after the final norm
  attentions: Tensor[];
  cache: { dims: ViTDims; patches: Float32Array; embMask: Float32Array | null; blocks: BlockCache[]; x: Float32Array; final: LayernormOutput };
}

/** The encoder view for a captioner: every token through the final norm, no head. */
export function forwardTokensTrain(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean): TokensForward {
  const c = model.config;
  const { x, attentions, dims, patches, embMask, blocks } = forwardBlocks(model, pixels, be, rng, training);
  const final = layernorm(be, x, dims.B * dims.N, dims.D, model.params.get("norm.weight")!.data, model.params.get("norm.bias")!.data, c.layerNormEps);
  return { tokens: { data: final.out, shape: [dims.B, dims.N, dims.D] }, attentions, cache: { dims, patches, embMask, blocks, x, final } };
}

/** Backward from dL/d(tokens) (B, N, D) of forwardTokensTrain; gradients add into `grads`. */
export function backwardTokens(model: ViT, fwd: TokensForward, dtokens: Float32Array, grads: Params, be: Backend): BackwardResult {
  const { dims, x, final } = fwd.cache;
  const rows = dims.B * dims.N;
  const dx = new Float32Array(rows * dims.D);
  be.layernormBackward(dtokens, x, final.mean, final.rstd, model.params.get("norm.weight")!.data, dx, grads.get("norm.weight")!.data, grads.get("norm.bias")!.data, rows, dims.D);
  return backwardBlocks(model, fwd.cache, dx, grads, be);
}

function forwardBlocks(model: ViT, pixels: Tensor, be: Backend, rng: Rng, training: boolean) {
  const c = model.config;
  const p = (name: string) => model.params.get(name)!.data;
  const dims = vitDims(c, pixels);
  const { B, D, H, hd, N } = dims;
  const rows = B * N;
  const drop = (n: number, rate: number) => (training ? dropoutMask(n, rate, rng) : null);
  const embedded = embed(be, model.params, c, pixels, dims);
  const patches = embedded.patches;
  let x = embedded.x; // (B, N, D)
  const embMask = drop(x.length, c.hiddenDropout);
  applyMask(x, embMask);

  const blocks: BlockCache[] = [];
  const attentions: Tensor[] = [];
  const attBuf = attentionBuffers(B, N, D);
  for (let l = 0; l < c.numLayers; l++) {
    const k = `blocks.${l}`;
    const xIn = x;
    const ln1 = layernorm(be, xIn, rows, D, p(`${k}.norm1.weight`), p(`${k}.norm1.bias`), c.layerNormEps);
    const qkv = linear(be, ln1.out, rows, D, p(`${k}.attn.qkv.weight`), model.params.get(`${k}.attn.qkv.bias`)?.data ?? null, 3 * D);
    const probs = new Float32Array(B * H * N * N);
    const context = new Float32Array(rows * D);
    const attMask = drop(probs.length, c.attentionDropout);
    const buf = { heads: new Float32Array(3 * rows * D), contextHeads: attBuf.contextHeads };
    let probsUsed = probs;
    if (attMask) {
      // Attention dropout acts between softmax and the product with v: run the two halves apart.
      attention(be, qkv, B, N, H, hd, probs, context, buf);
      probsUsed = probs.slice();
      applyMask(probsUsed, attMask);
      const block = B * H * N * hd;
      be.batchMatmul(probsUsed, buf.heads.subarray(2 * block), buf.contextHeads, B * H, N, hd, N, false, false, 1, false);
      be.mergeHeads(buf.contextHeads, context, B, N, 1, H, hd);
    } else {
      attention(be, qkv, B, N, H, hd, probs, context, buf);
    }
    attentions.push({ data: probs, shape: [B, H, N, N] });
    const attOut = linear(be, context, rows, D, p(`${k}.attn.proj.weight`), p(`${k}.attn.proj.bias`), D);
    const projMask = drop(attOut.length, c.hiddenDropout);
    applyMask(attOut, projMask);
    const xMid = new Float32Array(rows * D);
    be.add(xIn, attOut, xMid, xMid.length);
    const ln2 = layernorm(be, xMid, rows, D, p(`${k}.norm2.weight`), p(`${k}.norm2.bias`), c.layerNormEps);
    const hidden = linear(be, ln2.out, rows, D, p(`${k}.mlp.fc1.weight`), p(`${k}.mlp.fc1.bias`), c.mlpSize);
    const act = new Float32Array(hidden.length);
    be.geluForward(hidden, act, act.length);
    const mlpOut = linear(be, act, rows, c.mlpSize, p(`${k}.mlp.fc2.weight`), p(`${k}.mlp.fc2.bias`), D);
    const fc2Mask = drop(mlpOut.length, c.hiddenDropout);
    applyMask(mlpOut, fc2Mask);
    x = new Float32Array(rows * D);
    be.add(xMid, mlpOut, x, x.length);
    blocks.push({ xIn, ln1, heads: buf.heads, probs, probsUsed, attMask, context, projMask, xMid, ln2, hidden, fc2Mask });
  }
  return { x, attentions, dims, patches, embMask, blocks };
}

/** Zeroed gradient buffers, one per parameter. */
export function zeroGrads(params: Params): Params {
  return new Map([...params].map(([name, t]) => [name, { data: new Float32Array(t.data.length), shape: t.shape }]));
}

/**
 * Backward from dL/dlogits (B, classes): adds every parameter's gradient into `grads`
 * (so gradients accumulate over micro-batches) and returns the attention-probability gradients.
 */
export function backward(model: ViT, fwd: TrainForward, dlogits: Float32Array, grads: Params, be: Backend): BackwardResult {
  const c = model.config;
  const { dims, cls, final } = fwd.cache;
  const { B, D, N } = dims;
  const p = (name: string) => model.params.get(name)!.data;
  const g = (name: string) => grads.get(name)?.data ?? null;

  // Head and final norm (CLS rows only).
  const dfinal = new Float32Array(B * D);
  linearBackward(be, final.out, B, D, p("head.weight"), c.numClasses, dlogits, g("head.weight"), g("head.bias"), dfinal);
  const dcls = new Float32Array(B * D);
  be.layernormBackward(dfinal, cls, final.mean, final.rstd, p("norm.weight"), dcls, g("norm.weight")!, g("norm.bias")!, B, D);
  const dx = new Float32Array(B * N * D); // dL/d(residual stream)
  for (let b = 0; b < B; b++) dx.set(dcls.subarray(b * D, (b + 1) * D), b * N * D);
  return backwardBlocks(model, fwd.cache, dx, grads, be);
}

/** Backward through the blocks and embeddings from dL/d(residual stream after the last block). */
function backwardBlocks(
  model: ViT, cache: { dims: ViTDims; patches: Float32Array; embMask: Float32Array | null; blocks: BlockCache[] },
  dxOut: Float32Array, grads: Params, be: Backend,
): BackwardResult {
  const c = model.config;
  const { dims, patches, embMask, blocks } = cache;
  const { B, D, H, hd, N, P, rowLen } = dims;
  const p = (name: string) => model.params.get(name)!.data;
  const g = (name: string) => grads.get(name)?.data ?? null;
  const M = c.mlpSize;
  const rows = B * N;
  let dx: Float32Array = dxOut;

  const attentionGrads: Tensor[] = new Array(c.numLayers);
  // Scratch reused by every layer (fresh multi-MB arrays per layer cost page faults).
  const dln = new Float32Array(rows * D);
  const dnormIn = new Float32Array(rows * D);
  const dbranch = new Float32Array(rows * D); // dx through a dropout mask into a branch
  const dxMid = new Float32Array(rows * D);
  const dcontext = new Float32Array(rows * D);
  const act = new Float32Array(rows * M);
  const dact = new Float32Array(rows * M);
  const scratch = attentionScratch(B, N, H, hd);
  let dxNext: Float32Array = new Float32Array(rows * D);
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const k = `blocks.${l}`;
    const blk = blocks[l];
    // MLP branch: x = xMid + drop(fc2(gelu(fc1(norm2(xMid)))))
    dbranch.set(dx);
    applyMask(dbranch, blk.fc2Mask);
    be.geluForward(blk.hidden, act, act.length); // recomputed: cheaper than keeping it
    linearBackward(be, act, rows, M, p(`${k}.mlp.fc2.weight`), D, dbranch, g(`${k}.mlp.fc2.weight`), g(`${k}.mlp.fc2.bias`), dact);
    be.geluBackward(dact, blk.hidden, dact, dact.length);
    linearBackward(be, blk.ln2.out, rows, D, p(`${k}.mlp.fc1.weight`), M, dact, g(`${k}.mlp.fc1.weight`), g(`${k}.mlp.fc1.bias`), dln);
    be.layernormBackward(dln, blk.xMid, blk.ln2.mean, blk.ln2.rstd, p(`${k}.norm2.weight`), dnormIn, g(`${k}.norm2.weight`)!, g(`${k}.norm2.bias`)!, rows, D);
    be.add(dx, dnormIn, dxMid, dxMid.length);

    // Attention branch: xMid = xIn + drop(proj(attention(norm1(xIn))))
    dbranch.set(dxMid);
    applyMask(dbranch, blk.projMask);
    linearBackward(be, blk.context, rows, D, p(`${k}.attn.proj.weight`), D, dbranch, g(`${k}.attn.proj.weight`), g(`${k}.attn.proj.bias`), dcontext);
    const { dprobs, dqkv } = attentionBackward(be, blk.heads, blk.probs, blk.probsUsed, blk.attMask, dcontext, B, N, H, hd, scratch);
    attentionGrads[l] = { data: dprobs, shape: [B, H, N, N] };
    linearBackward(be, blk.ln1.out, rows, D, p(`${k}.attn.qkv.weight`), 3 * D, dqkv, g(`${k}.attn.qkv.weight`), g(`${k}.attn.qkv.bias`), dln);
    be.layernormBackward(dln, blk.xIn, blk.ln1.mean, blk.ln1.rstd, p(`${k}.norm1.weight`), dnormIn, g(`${k}.norm1.weight`)!, g(`${k}.norm1.bias`)!, rows, D);
    be.add(dxMid, dnormIn, dxNext, dxNext.length);
    [dx, dxNext] = [dxNext, dx];
  }

  // Embeddings: x = drop([cls, patch_embed(patches)] + pos)
  applyMask(dx, embMask);
  const dcls0 = g("cls_token")!;
  const dpos = g("pos_embed")!;
  const dembedded = new Float32Array(B * P * D);
  for (let b = 0; b < B; b++) {
    const tokens = dx.subarray(b * N * D, (b + 1) * N * D);
    be.add(dpos, tokens, dpos, N * D);
    be.add(dcls0, tokens.subarray(0, D), dcls0, D);
    dembedded.set(tokens.subarray(D), b * P * D);
  }
  linearBackward(be, patches, B * P, rowLen, p("patch_embed.proj.weight"), D, dembedded, g("patch_embed.proj.weight"), g("patch_embed.proj.bias"), null);
  return { attentionGrads };
}
