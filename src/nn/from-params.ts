import type { Params } from "../tensor.js";
import type { Linear, LinearGrads } from "./linear.js";
import type { Norm, NormGrads } from "./layernorm.js";

/** Builds a model's layer records from named tensors: `linear("blocks.0.attn.qkv")`, `norm(...)`. */
export interface LayerSource<L, N> {
  linear(name: string): L;
  norm(name: string): N;
}

/** Weights: sizes from the (out, in...) weight shapes; a missing weight is a bug, a missing bias means none. */
export function layerWeights(params: Params, eps: number): LayerSource<Linear, Norm> {
  const need = (name: string) => {
    const t = params.get(name);
    if (!t) throw new Error(`parameter ${name} is missing`);
    return t;
  };
  return {
    linear(name) {
      const w = need(`${name}.weight`);
      const outFeatures = w.shape[0];
      return { weight: w.data, bias: params.get(`${name}.bias`)?.data ?? null, inFeatures: w.data.length / outFeatures, outFeatures };
    },
    norm: (name) => ({ weight: need(`${name}.weight`).data, bias: need(`${name}.bias`).data, eps }),
  };
}

/** Gradient buffers under the same names: absent linear gradients are skipped, norms must be there. */
export function layerGrads(grads: Params): LayerSource<LinearGrads, NormGrads> {
  const get = (name: string) => grads.get(name)?.data ?? null;
  return {
    linear: (name) => ({ weight: get(`${name}.weight`), bias: get(`${name}.bias`) }),
    norm(name) {
      const weight = get(`${name}.weight`);
      const bias = get(`${name}.bias`);
      if (!weight || !bias) throw new Error(`gradient of ${name} is missing`);
      return { weight, bias };
    },
  };
}
