import { Rng } from "../random.js";
import type { Params, Tensor } from "../tensor.js";
import { numel } from "../tensor.js";
import { gridSize, headInputSize, posEmbedPrefix, type ViTConfig } from "./vit-config.js";

/**
 * vitlens' own parameter names (timm's layout: one fused qkv per block, PyTorch (out, in)
 * weights). Checkpoint key maps translate HF, timm, ... names to and from these.
 */

export function vitParameterShapes(c: ViTConfig): Array<[string, number[]]> {
  const D = c.hiddenSize;
  const [gh, gw] = gridSize(c);
  const shapes: Array<[string, number[]]> = [
    ["cls_token", [1, 1, D]],
    ...(c.distillationToken ? [["dist_token", [1, 1, D]] as [string, number[]]] : []),
    ...(c.registerTokens ? [["reg_token", [1, c.registerTokens, D]] as [string, number[]]] : []),
    ["pos_embed", [1, posEmbedPrefix(c) + gh * gw, D]],
    ["patch_embed.proj.weight", [D, c.numChannels, c.patchSize, c.patchSize]],
    ["patch_embed.proj.bias", [D]],
  ];
  for (let i = 0; i < c.numLayers; i++) {
    const b = `blocks.${i}`;
    shapes.push(
      [`${b}.norm1.weight`, [D]],
      [`${b}.norm1.bias`, [D]],
      [`${b}.attn.qkv.weight`, [3 * D, D]],
      ...(c.qkvBias ? [[`${b}.attn.qkv.bias`, [3 * D]] as [string, number[]]] : []),
      [`${b}.attn.proj.weight`, [D, D]],
      [`${b}.attn.proj.bias`, [D]],
      [`${b}.norm2.weight`, [D]],
      [`${b}.norm2.bias`, [D]],
      [`${b}.mlp.fc1.weight`, [c.mlpSize, D]],
      [`${b}.mlp.fc1.bias`, [c.mlpSize]],
      [`${b}.mlp.fc2.weight`, [D, c.mlpSize]],
      [`${b}.mlp.fc2.bias`, [D]],
      ...(c.layerScale ? [[`${b}.ls1.gamma`, [D]], [`${b}.ls2.gamma`, [D]]] as Array<[string, number[]]> : []),
    );
  }
  shapes.push(["norm.weight", [D]], ["norm.bias", [D]]);
  if (c.numClasses > 0) {
    shapes.push(["head.weight", [c.numClasses, headInputSize(c)]], ["head.bias", [c.numClasses]]);
    if (c.distillationHead) shapes.push(["head_dist.weight", [c.numClasses, D]], ["head_dist.bias", [c.numClasses]]);
  }
  return shapes;
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

export function countParameters(params: Params): number {
  let n = 0;
  for (const t of params.values()) n += t.data.length;
  return n;
}
