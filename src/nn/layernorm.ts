import type { Backend } from "../backend/backend.js";

export interface LayernormOutput {
  out: Float32Array; // (rows, dim)
  mean: Float32Array; // (rows) kept for backward
  rstd: Float32Array; // (rows)
}

export function layernorm(
  be: Backend, x: Float32Array, rows: number, dim: number, weight: Float32Array, bias: Float32Array, eps: number,
  out: Float32Array = new Float32Array(rows * dim),
): LayernormOutput {
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  be.layernormForward(x, weight, bias, out, mean, rstd, rows, dim, eps);
  return { out, mean, rstd };
}
