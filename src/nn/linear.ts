import type { Backend } from "../backend/backend.js";

/** PyTorch's nn.Linear: weight (out, in), bias (out) or null. */
export interface Linear {
  weight: Float32Array;
  bias: Float32Array | null;
  inFeatures: number;
  outFeatures: number;
}

/** Where a linear layer's gradients are added; null for a gradient nobody wants. */
export interface LinearGrads {
  weight: Float32Array | null;
  bias: Float32Array | null;
}

/**
 * y (rows, out) = x (rows, in) @ weight^T + bias. With `accumulate`, adds into `out`: a residual
 * connection without a separate add; with `gelu` (`relu`), y = GELU(x @ weight^T + bias) (ReLU) in the same pass.
 */
export function linear(
  be: Backend, layer: Linear, x: Float32Array, rows: number, o: { out?: Float32Array; accumulate?: boolean; gelu?: boolean; relu?: boolean } = {},
): Float32Array {
  const out = o.out ?? new Float32Array(rows * layer.outFeatures);
  be.matmul(x, layer.weight, out, {
    m: rows, n: layer.outFeatures, k: layer.inFeatures, transB: true, bias: layer.bias, accumulate: o.accumulate, gelu: o.gelu, relu: o.relu,
  });
  return out;
}

export interface LinearBackwardArgs {
  x: Float32Array; // (rows, in) what the forward multiplied
  rows: number;
  dy: Float32Array; // (rows, out)
  /** (rows, in) dL/dx, written (added to with accumulateDx); omit when not needed. */
  dx?: Float32Array | null;
  accumulateDx?: boolean;
}

/** Backward of `linear`: grads.weight (out, in) += dy^T @ x; grads.bias += column sums of dy; dx = dy @ weight. */
export function linearBackward(be: Backend, layer: Linear, grads: LinearGrads, a: LinearBackwardArgs): void {
  const { inFeatures: I, outFeatures: O } = layer;
  if (grads.weight) be.matmul(a.dy, a.x, grads.weight, { m: O, n: I, k: a.rows, transA: true, accumulate: true });
  if (grads.bias) be.sumRows(a.dy, grads.bias, a.rows, O, true);
  if (a.dx) be.matmul(a.dy, layer.weight, a.dx, { m: a.rows, n: I, k: O, accumulate: a.accumulateDx });
}
