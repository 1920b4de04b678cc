import type { Backend } from "../backend/backend.js";
import { VitlensError } from "../errors.js";
import { linearGrads, linearWeights } from "../nn/from-params.js";
import { linear, linearBackward } from "../nn/linear.js";
import { shapeString, type Tensor } from "../tensor.js";
import { gridSize, numTokens, type ViTConfig } from "./vit-config.js";
import type { Params } from "../tensor.js";

/** The sizes every ViT pass works with. */
export interface ViTDims {
  B: number; // images
  D: number; // width
  H: number; // heads
  hd: number; // head width
  N: number; // tokens: CLS + patches
  P: number; // patches
  rowLen: number; // values per flattened patch: C * p * p
}

/** Checks pixels (B, C, H, W) against the config; returns the pass's sizes. */
export function vitDims(c: ViTConfig, pixels: Tensor): ViTDims {
  const [B, C, Hpx, Wpx] = pixels.shape;
  if (pixels.shape.length !== 4 || C !== c.numChannels || Hpx !== c.imageSize[0] || Wpx !== c.imageSize[1]) {
    throw new VitlensError(`ViT forward: expected pixels (B, ${c.numChannels}, ${c.imageSize[0]}, ${c.imageSize[1]}), found ${shapeString(pixels.shape)}`);
  }
  const [gh, gw] = gridSize(c);
  return { B, D: c.hiddenSize, H: c.numHeads, hd: c.hiddenSize / c.numHeads, N: numTokens(c), P: gh * gw, rowLen: C * c.patchSize ** 2 };
}

/**
 * Tokens [CLS, patch embeddings] + position embeddings: x (B, N, D). A stride-p convolution is
 * a matmul over flattened patches; `patches` (B*P, C*p*p) is returned for the weight gradient.
 */
export function embed(be: Backend, params: Params, c: ViTConfig, pixels: Tensor, d: ViTDims): { x: Float32Array; patches: Float32Array } {
  const { B, D, N, P, rowLen } = d;
  const p = (name: string) => params.get(name)!.data;
  const patches = new Float32Array(B * P * rowLen);
  be.patchify(pixels.data, patches, B, c.numChannels, c.imageSize[0], c.imageSize[1], c.patchSize); // (B*P, C*p*p)
  const embedded = linear(be, linearWeights(params, "patch_embed.proj"), patches, B * P); // (B*P, D)
  const x = new Float32Array(B * N * D); // (B, N, D)
  for (let b = 0; b < B; b++) {
    x.set(p("cls_token"), b * N * D);
    x.set(embedded.subarray(b * P * D, (b + 1) * P * D), b * N * D + D);
    const tokens = x.subarray(b * N * D, (b + 1) * N * D);
    be.add(tokens, p("pos_embed"), tokens, N * D); // (N, D) position embeddings
  }
  return { x, patches };
}

/** Backward of `embed` from dL/dx (B, N, D): gradients of the CLS token, positions and patch projection added into `grads`. */
export function embedBackward(be: Backend, params: Params, grads: Params, d: ViTDims, patches: Float32Array, dx: Float32Array): void {
  const { B, D, N, P } = d;
  const dcls = grads.get("cls_token")!.data;
  const dpos = grads.get("pos_embed")!.data;
  const dembedded = new Float32Array(B * P * D);
  for (let b = 0; b < B; b++) {
    const tokens = dx.subarray(b * N * D, (b + 1) * N * D);
    be.add(dpos, tokens, dpos, N * D);
    be.add(dcls, tokens.subarray(0, D), dcls, D);
    dembedded.set(tokens.subarray(D), b * P * D);
  }
  linearBackward(be, linearWeights(params, "patch_embed.proj"), linearGrads(grads, "patch_embed.proj"), { x: patches, rows: B * P, dy: dembedded });
}
