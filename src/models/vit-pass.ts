import type { Backend } from "../backend/backend.js";
import { applyMask, dropoutMask, type Dropout } from "../nn/dropout.js";
import { encoderBlockActs, encoderBlockBackward, encoderBlockForward, type EncoderBlockActs } from "../nn/encoder-block.js";
import { layerGrads, layerWeights, type LayerSource } from "../nn/from-params.js";
import { layernorm, layernormBackward, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward } from "../nn/linear.js";
import { Scratch } from "../nn/scratch.js";
import type { Params, Tensor } from "../tensor.js";
import type { ViTConfig } from "./vit-config.js";
import { embed, embedBackward, vitDims, type ViTDims } from "./vit-embed.js";

/** Block l's layers under timm's names, as weights or as gradient buffers (whichever `t` builds). */
export function vitBlock<L, N>(t: LayerSource<L, N>, l: number, c: Pick<ViTConfig, "numHeads" | "activation">) {
  const k = `blocks.${l}`;
  return {
    attn: { norm: t.norm(`${k}.norm1`), qkv: t.linear(`${k}.attn.qkv`), proj: t.linear(`${k}.attn.proj`), heads: c.numHeads, layerScale: t.vector(`${k}.ls1.gamma`) },
    mlp: { norm: t.norm(`${k}.norm2`), fc1: t.linear(`${k}.mlp.fc1`), fc2: t.linear(`${k}.mlp.fc2`), activation: c.activation, layerScale: t.vector(`${k}.ls2.gamma`) },
  };
}

/** What the pass ends with: the head's logits over the CLS token, or every token after the final norm. */
export type ViTOutputKind = "logits" | "tokens";

export interface ViTPassOptions {
  output: ViTOutputKind;
  /**
   * Keep what backward needs: one activation set per block. Without it one workspace serves
   * every block and the residual stream is updated in place; only the attention probabilities
   * are kept per layer either way.
   */
  keep: boolean;
  dropout?: Dropout | null;
  /** The activations of an earlier kept pass of the same shape: overwritten instead of allocated. */
  reuse?: ViTActivations;
}

/** What a pass wrote; with `keep`, everything backward reads. */
export interface ViTActivations {
  dims: ViTDims;
  output: ViTOutputKind;
  patches: Float32Array; // (B*P, C*p*p)
  embMask: Float32Array | null;
  blocks: EncoderBlockActs[]; // per block when kept, else the one shared workspace
  normIn: Float32Array; // what the final norm read: the head's token rows (B*R, D) or every token (B*N, D)
  final: LayernormOutput;
  /** per image, the tokens the final norm read (output "logits"): CLS, (distillation), or all of them */
  normRows: number[];
  headIn: Float32Array | null; // (B, headInputSize) what `head` read
}

export interface ViTPass {
  logits: Tensor | null; // (B, classes) for output "logits" when the model has a head
  features: Tensor; // (B, D) final-norm CLS tokens, or (B, N, D) every token for output "tokens"
  attentions: Tensor[]; // per layer (B, H, N, N)
  acts: ViTActivations;
}

/**
 * The ViT's one forward pass (pre-norm blocks, final norm, optional head) over pixels
 * (B, C, H, W); inference and training differ only in the options: what is kept, dropout.
 */
export function vitForward(be: Backend, c: ViTConfig, params: Params, pixels: Tensor, o: ViTPassOptions): ViTPass {
  const dims = vitDims(c, pixels);
  const { B, D, H, N } = dims;
  const W = layerWeights(params, c.layerNormEps);
  const { x, patches } = embed(be, params, c, pixels, dims); // (B, N, D)
  const embMask = o.dropout ? dropoutMask(x.length, o.dropout.hidden, o.dropout.rng) : null;
  applyMask(x, embMask);

  const s = { B, T: N };
  const sizes = { D, H, M: c.mlpSize };
  if (o.reuse && (o.reuse.dims.B !== B || o.reuse.dims.N !== N || o.reuse.dims.D !== D || o.reuse.blocks.length !== c.numLayers)) {
    throw new Error(`vitForward: cannot reuse the activations of a pass of another shape (batch ${o.reuse.dims.B}, expected ${B})`);
  }
  const shared = o.keep ? null : encoderBlockActs(s, sizes, { stream: x });
  const blocks: EncoderBlockActs[] = [];
  const attentions: Tensor[] = [];
  let stream = x;
  for (let l = 0; l < c.numLayers; l++) {
    const acts = shared ? withOwnProbs(shared, l) : o.reuse?.blocks[l] ?? encoderBlockActs(s, sizes, { shareWith: blocks[0] });
    stream = encoderBlockForward(be, vitBlock(W, l, c), stream, s, acts, o.dropout ?? null);
    attentions.push({ data: acts.attn.att.probs, shape: [B, H, N, N] });
    blocks.push(acts);
  }

  const normRows = o.output === "logits" ? headTokens(c, N) : [];
  let normIn = stream; // (B*N, D)
  if (o.output === "logits" && normRows.length < N) {
    // Final norm on the tokens the head reads only: CLS (and the distillation token).
    const R = normRows.length;
    normIn = new Float32Array(B * R * D); // (B*R, D)
    for (let b = 0; b < B; b++) normRows.forEach((t, r) => normIn.set(stream.subarray((b * N + t) * D, (b * N + t + 1) * D), (b * R + r) * D));
  }
  const final = layernorm(be, W.norm("norm"), normIn, normIn.length / D);
  if (o.output === "tokens") {
    return {
      logits: null, features: { data: final.out, shape: [B, N, D] }, attentions,
      acts: { dims, output: o.output, patches, embMask, blocks: o.keep ? blocks : [], normIn, final, normRows, headIn: null },
    };
  }
  const R = normRows.length;
  const cls = new Float32Array(B * D); // (B, D) the final-norm CLS tokens: the features
  for (let b = 0; b < B; b++) cls.set(final.out.subarray(b * R * D, (b * R + 1) * D), b * D);
  const headIn = c.numClasses > 0 ? headInput(c, final.out, dims, R, cls) : null;
  let logits: Tensor | null = null;
  if (headIn) {
    const out = linear(be, W.linear("head"), headIn, B); // (B, classes)
    if (c.distillationHead) {
      // DeiT at inference: the mean of the CLS head and the distillation head
      const dist = new Float32Array(B * D);
      for (let b = 0; b < B; b++) dist.set(final.out.subarray((b * R + 1) * D, (b * R + 2) * D), b * D);
      const d = linear(be, W.linear("head_dist"), dist, B);
      for (let i = 0; i < out.length; i++) out[i] = (out[i] + d[i]) / 2;
    }
    logits = { data: out, shape: [B, c.numClasses] };
  }
  return {
    logits, features: { data: cls, shape: [B, D] }, attentions,
    acts: { dims, output: o.output, patches, embMask, blocks: o.keep ? blocks : [], normIn, final, normRows, headIn },
  };
}

/** The tokens the final norm must see for the head: CLS (+ the distillation token), or every token for average pooling. */
function headTokens(c: ViTConfig, N: number): number[] {
  if ((c.pool ?? "cls") === "cls+avg") return Array.from({ length: N }, (_, i) => i);
  return c.distillationHead ? [0, 1] : [0];
}

/** (B, headInputSize): CLS, or DINOv2's [CLS, mean of the patch tokens] (prefix tokens left out). */
function headInput(c: ViTConfig, final: Float32Array, d: ViTDims, R: number, cls: Float32Array): Float32Array {
  if ((c.pool ?? "cls") === "cls") return cls;
  const { B, D, P, prefix } = d;
  const out = new Float32Array(B * 2 * D);
  for (let b = 0; b < B; b++) {
    out.set(cls.subarray(b * D, (b + 1) * D), b * 2 * D);
    const mean = out.subarray(b * 2 * D + D, (b + 1) * 2 * D);
    for (let t = prefix; t < R; t++) for (let j = 0; j < D; j++) mean[j] += final[(b * R + t) * D + j];
    for (let j = 0; j < D; j++) mean[j] /= P;
  }
  return out;
}

/** Backward of the head from dlogits (B, classes) into dL/d(final-norm rows) (B*R, D). */
function headBackward(
  be: Backend, c: ViTConfig, W: ReturnType<typeof layerWeights>, G: ReturnType<typeof layerGrads>, acts: ViTActivations, dout: Float32Array, dfinal: Float32Array,
): void {
  const { B, D, P, prefix } = acts.dims;
  const R = acts.normRows.length;
  const dlogits = c.distillationHead ? dout.map((v) => v / 2) : dout;
  const dheadIn = new Float32Array(B * ((c.pool ?? "cls") === "cls+avg" ? 2 * D : D));
  linearBackward(be, W.linear("head"), G.linear("head"), { x: acts.headIn!, rows: B, dy: dlogits, dx: dheadIn });
  for (let b = 0; b < B; b++) {
    if ((c.pool ?? "cls") === "cls") dfinal.set(dheadIn.subarray(b * D, (b + 1) * D), b * R * D);
    else {
      dfinal.set(dheadIn.subarray(b * 2 * D, b * 2 * D + D), b * R * D);
      for (let t = prefix; t < R; t++) for (let j = 0; j < D; j++) dfinal[(b * R + t) * D + j] += dheadIn[b * 2 * D + D + j] / P;
    }
  }
  if (c.distillationHead) {
    const dist = new Float32Array(B * D);
    for (let b = 0; b < B; b++) dist.set(acts.final.out.subarray((b * R + 1) * D, (b * R + 2) * D), b * D);
    const ddist = new Float32Array(B * D);
    linearBackward(be, W.linear("head_dist"), G.linear("head_dist"), { x: dist, rows: B, dy: dlogits, dx: ddist });
    for (let b = 0; b < B; b++) for (let j = 0; j < D; j++) dfinal[(b * R + 1) * D + j] += ddist[b * D + j];
  }
}

/** The shared workspace with a fresh attention-probability buffer for layer l > 0: those are returned. */
function withOwnProbs(shared: EncoderBlockActs, l: number): EncoderBlockActs {
  if (l === 0) return shared;
  const att = { ...shared.attn.att, probs: new Float32Array(shared.attn.att.probs.length) };
  return { ...shared, attn: { ...shared.attn, att } };
}

/**
 * Backward of a kept `vitForward` from dL/d(its output): dlogits (B, classes) or dtokens
 * (B, N, D). Every parameter's gradient is added into `grads` (so micro-batches accumulate);
 * returns dL/d(attention probabilities) per layer (B, H, N, N), for gradient-weighted attribution
 * — none with `attentionGrads: false` (a training step: one scratch buffer serves every layer).
 */
export function vitBackward(
  be: Backend, c: ViTConfig, params: Params, acts: ViTActivations, dout: Float32Array, grads: Params, scratch = new Scratch(),
  o: { attentionGrads?: boolean } = {},
): Tensor[] {
  const { dims, normIn, final, normRows } = acts;
  const { B, D, H, N } = dims;
  const W = layerWeights(params, c.layerNormEps);
  const G = layerGrads(grads);
  let dnormOut = dout;
  const R = normRows.length;
  if (acts.output === "logits") {
    dnormOut = new Float32Array(B * R * D); // (B*R, D)
    headBackward(be, c, W, G, acts, dout, dnormOut);
  }
  const dnormIn = scratch.get("vit.dnormIn", normIn.length);
  layernormBackward(be, W.norm("norm"), G.norm("norm"), { x: normIn, saved: final, dout: dnormOut, dx: dnormIn, rows: normIn.length / D });
  let dx = dnormIn; // dL/d(residual stream) (B, N, D)
  if (acts.output === "logits" && R < N) {
    dx = scratch.get("vit.dstream", B * N * D).fill(0); // only the rows the head read have a gradient
    for (let b = 0; b < B; b++) normRows.forEach((t, r) => dx.set(dnormIn.subarray((b * R + r) * D, (b * R + r + 1) * D), (b * N + t) * D));
  }
  const s = { B, T: N };
  const keep = o.attentionGrads ?? true;
  const attentionGrads: Tensor[] = keep ? new Array(c.numLayers) : [];
  const shared = keep ? undefined : scratch.get("vit.dprobs", B * H * N * N);
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const dprobs = encoderBlockBackward(be, vitBlock(W, l, c), vitBlock(G, l, c), s, acts.blocks[l], dx, scratch, shared);
    if (keep) attentionGrads[l] = { data: dprobs, shape: [B, H, N, N] };
  }
  // Embeddings: x = drop([cls, patch_embed(patches)] + pos)
  applyMask(dx, acts.embMask);
  embedBackward(be, params, grads, dims, acts.patches, dx, c);
  return attentionGrads;
}
