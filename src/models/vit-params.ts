import { Rng } from "../random.js";
import type { Params, Tensor } from "../tensor.js";
import { numel } from "../tensor.js";
import { attentionSize, gridSize, headInputSize, posEmbedPrefix, type ViTConfig } from "./vit-config.js";

/**
 * vitlens' own parameter names (timm's layout: one fused qkv per block, PyTorch (out, in)
 * weights). Checkpoint key maps translate HF, timm, ... names to and from these.
 */

export function vitParameterShapes(c: ViTConfig): Array<[string, number[]]> {
  const D = c.hiddenSize;
  const A = attentionSize(c);
  const [gh, gw] = gridSize(c);
  const rowLen = c.numChannels * c.patchSize ** 2;
  const shapes: Array<[string, number[]]> = [];
  const add = (when: boolean | undefined, ...entries: Array<[string, number[]]>) => {
    if (when) shapes.push(...entries);
  };
  const norm = (name: string, width = D): Array<[string, number[]]> => [[`${name}.weight`, [width]], [`${name}.bias`, [width]]];
  add(c.classToken ?? true, ["cls_token", [1, 1, D]]);
  add(c.distillationToken, ["dist_token", [1, 1, D]]);
  add((c.registerTokens ?? 0) > 0, ["reg_token", [1, c.registerTokens!, D]]);
  add((c.posEmbedTokens ?? "all") !== "none", ["pos_embed", [1, posEmbedPrefix(c) + gh * gw, D]]);
  add(c.patchNorm === "in+out", ...norm("patch_embed.norm_in", rowLen));
  shapes.push(["patch_embed.proj.weight", [D, c.numChannels, c.patchSize, c.patchSize]]);
  add(c.patchBias ?? true, ["patch_embed.proj.bias", [D]]);
  add(c.patchNorm !== undefined, ...norm("patch_embed.norm"));
  add(c.preNorm, ...norm("norm_pre"));
  add(c.relativePositionBias === "shared", ["rel_pos_bias.relative_position_bias_table", relativeTableShape(c)]);
  for (let i = 0; i < c.numLayers; i++) {
    const b = `blocks.${i}`;
    shapes.push(...norm(`${b}.norm1`), [`${b}.attn.qkv.weight`, [3 * A, D]]);
    add(c.qkvBias, [`${b}.attn.qkv.bias`, [3 * A]]);
    add(c.relativePositionBias === "layer", [`${b}.attn.relative_position_bias_table`, relativeTableShape(c)]);
    shapes.push(
      [`${b}.attn.proj.weight`, [D, A]],
      [`${b}.attn.proj.bias`, [D]],
      ...norm(`${b}.norm2`),
      [`${b}.mlp.fc1.weight`, [c.mlpSize, D]],
      [`${b}.mlp.fc1.bias`, [c.mlpSize]],
      [`${b}.mlp.fc2.weight`, [D, c.mlpSize]],
      [`${b}.mlp.fc2.bias`, [D]],
    );
    add(c.layerScale, [`${b}.ls1.gamma`, [D]], [`${b}.ls2.gamma`, [D]]);
  }
  const finalNorm = c.finalNorm ?? "tokens";
  add(finalNorm === "tokens" || finalNorm === "both", ...norm("norm"));
  add(finalNorm === "pooled" || finalNorm === "both", ...norm("fc_norm", headInputSize(c)));
  if (c.numClasses > 0) {
    shapes.push(["head.weight", [c.numClasses, headInputSize(c)]], ["head.bias", [c.numClasses]]);
    add(c.distillationHead, ["head_dist.weight", [c.numClasses, D]], ["head_dist.bias", [c.numClasses]]);
  }
  return shapes;
}

/** BEiT's relative position table: every (dy, dx) between two patches, then CLS->patch, patch->CLS, CLS->CLS; one column per head. */
export function relativeTableShape(c: ViTConfig): [number, number] {
  const [gh, gw] = gridSize(c);
  return [(2 * gh - 1) * (2 * gw - 1) + 3, c.numHeads];
}

/** One parameter initialised like timm: trunc-normal(0.02) weights and embeddings, zero biases, unit norms. */
export function initParameter(name: string, shape: number[], rng: Rng): Tensor {
  const data = new Float32Array(numel(shape));
  if ((name.includes("norm") && name.endsWith(".weight")) || name.endsWith(".gamma")) data.fill(name.endsWith(".gamma") ? 1e-5 : 1); // timm's init_values for layer scale
  else if (!name.endsWith(".bias")) for (let i = 0; i < data.length; i++) data[i] = rng.truncNormal(0.02);
  return { data, shape };
}

export function initParams(c: ViTConfig, seed = 0): Params {
  const rng = new Rng(seed);
  return new Map(vitParameterShapes(c).map(([name, shape]) => [name, initParameter(name, shape, rng)]));
}

/** Every parameter at its shape, zero-filled: a model to describe, not to run. */
export function zeroParams(c: ViTConfig): Params {
  return new Map(vitParameterShapes(c).map(([name, shape]) => [name, { data: new Float32Array(numel(shape)), shape }]));
}

export function countParameters(params: Params): number {
  let n = 0;
  for (const t of params.values()) n += t.data.length;
  return n;
}
