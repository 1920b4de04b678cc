import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import { linearGrads, linearWeights } from "../nn/from-params.js";
import { linear, linearBackward } from "../nn/linear.js";
import { shapeString, type Tensor } from "../tensor.js";
import { gridSize, numTokens, prefixTokens, type ViTConfig } from "./vit-config.js";
import type { Params } from "../tensor.js";

/** The sizes every ViT pass works with. */
export interface ViTDims {
  B: number; // images
  D: number; // width
  H: number; // heads
  hd: number; // head width
  N: number; // tokens: the prefix (CLS, distillation, registers) + patches
  P: number; // patches
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
  return { B, D: c.hiddenSize, H: c.numHeads, hd: c.hiddenSize / c.numHeads, N: numTokens(c), P: gh * gw, prefix: prefixTokens(c), rowLen: C * c.patchSize ** 2 };
}

/** The prefix tokens in sequence order, each with its parameter and the token range it fills. */
function prefixParts(c: ViTConfig): Array<{ name: string; start: number; count: number }> {
  const parts = [{ name: "cls_token", start: 0, count: 1 }];
  if (c.distillationToken) parts.push({ name: "dist_token", start: 1, count: 1 });
  if (c.registerTokens) parts.push({ name: "reg_token", start: parts.length, count: c.registerTokens });
  return parts;
}

/**
 * Which token rows the position embedding's rows are added to: [first, count] pairs of
 * (token row, pos row) runs. "all": every token; "cls+patches": CLS and the patches (HF's
 * registers are inserted after the positions); "patches": the patches only.
 */
function positionRuns(c: ViTConfig, d: ViTDims): Array<{ token: number; pos: number; count: number }> {
  const covers = c.posEmbedTokens ?? "all";
  if (covers === "all") return [{ token: 0, pos: 0, count: d.N }];
  if (covers === "patches") return [{ token: d.prefix, pos: 0, count: d.P }];
  return [{ token: 0, pos: 0, count: 1 }, { token: d.prefix, pos: 1, count: d.P }];
}

/**
 * Tokens [CLS, (distillation), (registers), patch embeddings] + position embeddings: x (B, N, D).
 * A stride-p convolution is a matmul over flattened patches; `patches` (B*P, C*p*p) is returned
 * for the weight gradient.
 */
export function embed(be: Backend, params: Params, c: ViTConfig, pixels: Tensor, d: ViTDims): { x: Float32Array; patches: Float32Array } {
  const { B, D, N, P, rowLen, prefix } = d;
  const p = (name: string) => params.get(name)!.data;
  const patches = new Float32Array(B * P * rowLen);
  be.patchify(pixels.data, patches, B, c.numChannels, c.imageSize[0], c.imageSize[1], c.patchSize); // (B*P, C*p*p)
  const embedded = linear(be, linearWeights(params, "patch_embed.proj"), patches, B * P); // (B*P, D)
  const x = new Float32Array(B * N * D); // (B, N, D)
  const pos = p("pos_embed");
  const parts = prefixParts(c);
  const runs = positionRuns(c, d);
  for (let b = 0; b < B; b++) {
    for (const part of parts) x.set(p(part.name), (b * N + part.start) * D);
    x.set(embedded.subarray(b * P * D, (b + 1) * P * D), (b * N + prefix) * D);
    for (const r of runs) {
      const tokens = x.subarray((b * N + r.token) * D, (b * N + r.token + r.count) * D);
      be.add(tokens, pos.subarray(r.pos * D, (r.pos + r.count) * D), tokens, r.count * D); // position embeddings
    }
  }
  return { x, patches };
}

/** Backward of `embed` from dL/dx (B, N, D): gradients of the prefix tokens, positions and patch projection added into `grads`. */
export function embedBackward(be: Backend, params: Params, grads: Params, d: ViTDims, patches: Float32Array, dx: Float32Array, c: ViTConfig): void {
  const { B, D, N, P, prefix } = d;
  const dpos = grads.get("pos_embed")!.data;
  const parts = prefixParts(c);
  const runs = positionRuns(c, d);
  const dembedded = new Float32Array(B * P * D);
  for (let b = 0; b < B; b++) {
    const tokens = dx.subarray(b * N * D, (b + 1) * N * D);
    for (const r of runs) {
      const g = dpos.subarray(r.pos * D, (r.pos + r.count) * D);
      be.add(g, tokens.subarray(r.token * D, (r.token + r.count) * D), g, r.count * D);
    }
    for (const part of parts) {
      const g = grads.get(part.name)?.data;
      if (g) be.add(g, tokens.subarray(part.start * D, (part.start + part.count) * D), g, part.count * D);
    }
    dembedded.set(tokens.subarray(prefix * D), b * P * D);
  }
  linearBackward(be, linearWeights(params, "patch_embed.proj"), linearGrads(grads, "patch_embed.proj"), { x: patches, rows: B * P, dy: dembedded });
}
