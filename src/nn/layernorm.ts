import type { Backend } from "../backend/backend.js";
import { freshBuffers, type BufferSource } from "./buffers.js";

/** nn.LayerNorm over the last dimension (weight.length). */
export interface Norm {
  weight: Float32Array;
  bias: Float32Array;
  eps: number;
}

export interface NormGrads {
  weight: Float32Array;
  bias: Float32Array;
}

export interface LayernormOutput {
  out: Float32Array; // (rows, dim)
  mean: Float32Array; // (rows) kept for backward
  rstd: Float32Array; // (rows)
}

export function layernormOutput(rows: number, dim: number, source: BufferSource = freshBuffers): LayernormOutput {
  return { out: source("out", [rows, dim]), mean: source("mean", [rows]), rstd: source("rstd", [rows]) };
}

export function layernorm(
  be: Backend, norm: Norm, x: Float32Array, rows: number, into: LayernormOutput = layernormOutput(rows, norm.weight.length),
): LayernormOutput {
  be.layernormForward(x, norm.weight, norm.bias, into.out, into.mean, into.rstd, rows, norm.weight.length, norm.eps);
  return into;
}

export interface LayernormBackwardArgs {
  x: Float32Array; // (rows, dim) the forward's input
  saved: LayernormOutput; // its mean and rstd
  dout: Float32Array; // (rows, dim)
  dx: Float32Array; // (rows, dim) written
  rows: number;
}

/** Backward of `layernorm`: writes dx; adds the weight and bias gradients into `grads`. */
export function layernormBackward(be: Backend, norm: Norm, grads: NormGrads, a: LayernormBackwardArgs): void {
  be.layernormBackward(a.dout, a.x, a.saved.mean, a.saved.rstd, norm.weight, a.dx, grads.weight, grads.bias, a.rows, norm.weight.length);
}
