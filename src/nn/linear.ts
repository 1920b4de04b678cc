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

/**
 * Backward of `linear`: dweight (out, in) += dy^T @ x; dbias += column sums of dy;
 * dx (rows, in) = dy @ weight (or += with accumulateDx). Pass dx = null when not needed.
 */
export function linearBackward(
  be: Backend, x: Float32Array, rows: number, inFeatures: number, weight: Float32Array, outFeatures: number,
  dy: Float32Array, dweight: Float32Array | null, dbias: Float32Array | null, dx: Float32Array | null, accumulateDx = false,
): void {
  if (dweight) be.matmul(dy, x, dweight, outFeatures, inFeatures, rows, true, false, null, true);
  if (dbias) be.sumRows(dy, dbias, rows, outFeatures, true);
  if (dx) be.matmul(dy, weight, dx, rows, inFeatures, outFeatures, false, false, null, accumulateDx);
}
