import type { Backend } from "../backend/backend.js";

/** y (rows, out) = x (rows, in) @ weight (out, in)^T + bias (out): PyTorch's nn.Linear. */
export function linearForward(
  be: Backend, x: Float32Array, rows: number, inFeatures: number,
  weight: Float32Array, bias: Float32Array | null, outFeatures: number,
): Float32Array {
  const y = new Float32Array(rows * outFeatures);
  be.matmul(x, weight, y, rows, outFeatures, inFeatures, false, true, bias, false);
  return y;
}
