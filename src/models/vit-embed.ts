import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import { layerGrads, layerWeights, linearGrads, linearWeights } from "../nn/from-params.js";
import { layernorm, layernormBackward, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward } from "../nn/linear.js";
import { shapeString, type Params, type Tensor } from "../tensor.js";
import { attentionSize, gridSize, numTokens, prefixTokens, type ViTConfig } from "./vit-config.js";

/** The sizes every ViT pass works with. */
export interface ViTDims {
  B: number; // images
  D: number; // width
  H: number; // heads
  A: number; // attention width: heads x head width (D unless vit-pytorch's dim_head says otherwise)
  hd: number; // head width
  N: number; // tokens: the prefix (CLS, distillation, registers) + patches
  P: number; // patches
  gh: number; // patch rows
  gw: number; // patch columns
  prefix: number; // tokens before the patches
  rowLen: number; // values per flattened patch: C * p * p
}

/** Checks pixels (B, C, H, W) against the config; returns the pass's sizes. */
export function vitDims(c: ViTConfig, pixels: Tensor): ViTDims {
  const [B, C, Hpx, Wpx] = pixels.shape;
  if (pixels.shape.length !== 4 || C !== c.numChannels || Hpx !== c.imageSize[0] || Wpx !== c.imageSize[1]) {
    throw new VitlensError(`ViT forward: expected pixels (B, ${c.numChannels}, ${c.imageSize[0]}, ${c.imageSize[1]}), found ${shapeString(pixels.shape)}`);
  }
  const [gh, gw] = gridSize(c);
  const A = attentionSize(c);
  return { B, D: c.hiddenSize, H: c.numHeads, A, hd: A / c.numHeads, N: numTokens(c), P: gh * gw, gh, gw, prefix: prefixTokens(c), rowLen: C * c.patchSize ** 2 };
}

/** The prefix tokens in sequence order, each with its parameter and the token range it fills. */
function prefixParts(c: ViTConfig): Array<{ name: string; start: number; count: number }> {
  const parts: Array<{ name: string; start: number; count: number }> = [];
  const next = () => parts.reduce((n, p) => n + p.count, 0);
  if (c.classToken ?? true) parts.push({ name: "cls_token", start: 0, count: 1 });
  if (c.distillationToken) parts.push({ name: "dist_token", start: next(), count: 1 });
  if (c.registerTokens) parts.push({ name: "reg_token", start: next(), count: c.registerTokens });
  return parts;
}

/**
 * Which token rows the position embedding's rows are added to, as runs of (token row, pos row,
 * count). "all": every token; "cls+patches": CLS and the patches (HF's registers are inserted
 * after the positions); "patches": the patches only; "none": no absolute positions.
 */
function positionRuns(c: ViTConfig, d: ViTDims): Array<{ token: number; pos: number; count: number }> {
  const covers = c.posEmbedTokens ?? "all";
  if (covers === "none") return [];
  if (covers === "all") return [{ token: 0, pos: 0, count: d.N }];
  if (covers === "patches") return [{ token: d.prefix, pos: 0, count: d.P }];
  return [{ token: 0, pos: 0, count: 1 }, { token: d.prefix, pos: 1, count: d.P }];
}

/** What the embedding wrote that backward reads. */
export interface EmbedActs {
  patches: Float32Array; // (B*P, C*p*p) flattened patches, channel-major (c, p1, p2) as a convolution's weights
  normIn: LayernormOutput | null; // vit-pytorch: LayerNorm over each flattened patch
  projected: Float32Array | null; // (B*P, D) the projection's output, when a norm follows it
  normOut: LayernormOutput | null; // LayerNorm over each patch embedding
}

const normOf = (params: Params, name: string, eps: number) => layerWeights(params, eps).norm(name);

/**
 * Tokens [CLS, (distillation), (registers), patch embeddings] + position embeddings: x (B, N, D).
 * A stride-p convolution is a matmul over flattened patches (a remainder of the image beyond
 * whole patches is dropped, as the convolution drops it).
 */
export function embed(be: Backend, params: Params, c: ViTConfig, pixels: Tensor, d: ViTDims): { x: Float32Array; acts: EmbedActs } {
  const { B, D, N, P, rowLen, prefix } = d;
  const patches = new Float32Array(B * P * rowLen);
  const whole = wholePatches(pixels, d, c.patchSize); // (B, C, gh*p, gw*p)
  be.patchify(whole, patches, B, c.numChannels, d.gh * c.patchSize, d.gw * c.patchSize, c.patchSize); // (B*P, C*p*p)
  const acts: EmbedActs = { patches, normIn: null, projected: null, normOut: null };
  let rows: Float32Array = patches;
  if (c.patchNorm === "in+out") {
    acts.normIn = layernorm(be, normOf(params, "patch_embed.norm_in", c.layerNormEps), patches, B * P);
    rows = acts.normIn.out;
  }
  let embedded = linear(be, linearWeights(params, "patch_embed.proj"), rows, B * P); // (B*P, D)
  if (c.patchNorm) {
    acts.projected = embedded;
    acts.normOut = layernorm(be, normOf(params, "patch_embed.norm", c.layerNormEps), embedded, B * P);
    embedded = acts.normOut.out;
  }
  const x = new Float32Array(B * N * D); // (B, N, D)
  const pos = params.get("pos_embed")?.data;
  const runs = positionRuns(c, d);
  for (let b = 0; b < B; b++) {
    for (const part of prefixParts(c)) x.set(params.get(part.name)!.data, (b * N + part.start) * D);
    x.set(embedded.subarray(b * P * D, (b + 1) * P * D), (b * N + prefix) * D);
    for (const r of runs) {
      const tokens = x.subarray((b * N + r.token) * D, (b * N + r.token + r.count) * D);
      be.add(tokens, pos!.subarray(r.pos * D, (r.pos + r.count) * D), tokens, r.count * D); // position embeddings
    }
  }
  return { x, acts };
}

/** Pixels cut to whole patches (the bottom and right remainder dropped); the same array when nothing is left over. */
function wholePatches(pixels: Tensor, d: ViTDims, p: number): Float32Array {
  const [B, C, Hpx, Wpx] = pixels.shape;
  const [h, w] = [d.gh * p, d.gw * p];
  if (h === Hpx && w === Wpx) return pixels.data;
  if (h === 0 || w === 0) throw new VitlensError(`ViT forward: a ${Hpx}x${Wpx} image holds no whole ${p}-pixel patch`);
  const out = new Float32Array(B * C * h * w);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < h; y++) out.set(pixels.data.subarray((bc * Hpx + y) * Wpx, (bc * Hpx + y) * Wpx + w), (bc * h + y) * w);
  }
  return out;
}

/** Backward of `embed` from dL/dx (B, N, D): gradients of the prefix tokens, positions, patch norms and projection added into `grads`. */
export function embedBackward(be: Backend, params: Params, grads: Params, d: ViTDims, acts: EmbedActs, dx: Float32Array, c: ViTConfig): void {
  const { B, D, N, P, prefix, rowLen } = d;
  const dpos = grads.get("pos_embed")?.data;
  const runs = positionRuns(c, d);
  let dembedded = new Float32Array(B * P * D);
  for (let b = 0; b < B; b++) {
    const tokens = dx.subarray(b * N * D, (b + 1) * N * D);
    for (const r of runs) {
      if (!dpos) break;
      const g = dpos.subarray(r.pos * D, (r.pos + r.count) * D);
      be.add(g, tokens.subarray(r.token * D, (r.token + r.count) * D), g, r.count * D);
    }
    for (const part of prefixParts(c)) {
      const g = grads.get(part.name)?.data;
      if (g) be.add(g, tokens.subarray(part.start * D, (part.start + part.count) * D), g, part.count * D);
    }
    dembedded.set(tokens.subarray(prefix * D), b * P * D);
  }
  const normGrads = (name: string) => layerGrads(grads).norm(name);
  if (acts.normOut) {
    const dprojected = new Float32Array(B * P * D);
    layernormBackward(be, normOf(params, "patch_embed.norm", c.layerNormEps), normGrads("patch_embed.norm"), { x: acts.projected!, saved: acts.normOut, dout: dembedded, dx: dprojected, rows: B * P });
    dembedded = dprojected;
  }
  const projIn = acts.normIn ? acts.normIn.out : acts.patches;
  const dprojIn = acts.normIn ? new Float32Array(B * P * rowLen) : null;
  linearBackward(be, linearWeights(params, "patch_embed.proj"), linearGrads(grads, "patch_embed.proj"), { x: projIn, rows: B * P, dy: dembedded, dx: dprojIn });
  if (acts.normIn) {
    // the pixels need no gradient, but the norm's weight and bias do (its dx is a throwaway)
    layernormBackward(be, normOf(params, "patch_embed.norm_in", c.layerNormEps), normGrads("patch_embed.norm_in"), { x: acts.patches, saved: acts.normIn, dout: dprojIn!, dx: new Float32Array(B * P * rowLen), rows: B * P });
  }
}
