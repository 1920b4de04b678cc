import type { Tensor } from "../tensor.js";

/** torchvision / DETR BatchNorm eps. */
export const BATCHNORM_EPS = 1e-5;

/** A frozen BatchNorm's four tensors (C). */
export interface FrozenBatchNorm {
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
}

/**
 * A bias-free convolution followed by a frozen BatchNorm, as one convolution with a bias:
 * bn(conv(x)) = conv(x) * scale + (bias - mean * scale), scale = weight / sqrt(var + eps)
 * (DETR's FrozenBatchNorm2d), so W' = W * scale per output channel and b' = bias - mean * scale.
 */
export function foldFrozenBatchNorm(convWeight: Tensor, bn: FrozenBatchNorm, eps = BATCHNORM_EPS): { weight: Float32Array; bias: Float32Array } {
  const out = convWeight.shape[0];
  const perOut = convWeight.data.length / out; // in * k * k
  const weight = new Float32Array(convWeight.data.length); // (out, in, k, k)
  const bias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const scale = bn.weight.data[o] / Math.sqrt(bn.runningVar.data[o] + eps);
    bias[o] = bn.bias.data[o] - bn.runningMean.data[o] * scale;
    for (let i = o * perOut; i < (o + 1) * perOut; i++) weight[i] = convWeight.data[i] * scale;
  }
  return { weight, bias };
}
