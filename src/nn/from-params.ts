import type { Params, Tensor } from "../tensor.js";
import type { Linear, LinearGrads } from "./linear.js";
import type { Norm, NormGrads } from "./layernorm.js";

/** Builds a model's layer records from named tensors: `linear("blocks.0.attn.qkv")`, `norm(...)`. */
export interface LayerSource<L, N> {
  linear(name: string): L;
  norm(name: string): N;
  /** a named vector (layer scale γ), or null when the model has none */
  vector(name: string): Float32Array | null;
}

function need(params: Params, name: string): Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`parameter ${name} is missing`);
  return t;
}

/** `${name}.weight` (out, in...) and `${name}.bias` as a Linear, sizes from the weight's shape; no bias tensor means none. */
export function linearWeights(params: Params, name: string): Linear {
  const w = need(params, `${name}.weight`);
  const outFeatures = w.shape[0];
  return { weight: w.data, bias: params.get(`${name}.bias`)?.data ?? null, inFeatures: w.data.length / outFeatures, outFeatures };
}

/** A linear layer's gradient buffers under the same names; absent ones are not computed. */
export function linearGrads(grads: Params, name: string): LinearGrads {
  return { weight: grads.get(`${name}.weight`)?.data ?? null, bias: grads.get(`${name}.bias`)?.data ?? null };
}

/** Weights: a missing weight is a bug, a missing bias means none. */
export function layerWeights(params: Params, eps: number): LayerSource<Linear, Norm> {
  return {
    linear: (name) => linearWeights(params, name),
    vector: (name) => params.get(name)?.data ?? null,
    norm: (name) => ({ weight: need(params, `${name}.weight`).data, bias: need(params, `${name}.bias`).data, eps }),
  };
}

/** Gradient buffers under the same names: absent linear gradients are skipped, norms must be there. */
export function layerGrads(grads: Params): LayerSource<LinearGrads, NormGrads> {
  const get = (name: string) => grads.get(name)?.data ?? null;
  return {
    linear: (name) => linearGrads(grads, name),
    vector: (name) => get(name),
    norm(name) {
      const weight = get(`${name}.weight`);
      const bias = get(`${name}.bias`);
      if (!weight || !bias) throw new Error(`gradient of ${name} is missing`);
      return { weight, bias };
    },
  };
}
