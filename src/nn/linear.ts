import type { Backend } from "../backend/backend.js";

/**
 * y (rows, out) [+]= x (rows, in) @ weight (out, in)^T + bias (out): PyTorch's nn.Linear.
 * With `accumulate`, adds into `out` — a residual connection without a separate add.
 */
export function linear(
  be: Backend, x: Float32Array, rows: number, inFeatures: number,
  weight: Float32Array, bias: Float32Array | null, outFeatures: number,
  out: Float32Array = new Float32Array(rows * outFeatures), accumulate = false,
): Float32Array {
  be.matmul(x, weight, out, rows, outFeatures, inFeatures, false, true, bias, accumulate);
  return out;
}
