import type { Backend } from "../backend/backend.js";
import { freshBuffers, type BufferSource } from "./buffers.js";
import { applyMask, dropoutMask, type Dropout } from "./dropout.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import type { Scratch } from "./scratch.js";

/** The end of a pre-norm branch: out = x + γ ⊙ drop(layer(input)) (γ: layer scale, when given), the residual stream after it. */
export interface ResidualOutput {
  x: Float32Array; // (rows, D) the stream entering the branch (a reference, kept for backward)
  out: Float32Array; // (rows, D) the stream after it; `x` itself when the pass updates in place
  projected: Float32Array | null; // (rows, D) layer(input) masked, before γ: taken only with a mask or a layer scale
  mask: Float32Array | null; // hidden dropout on the branch's output
  /** Where `projected` comes from when a pass first needs it. */
  source: BufferSource;
}

/** `out` is the source's "out": the stream itself when its plan updates the stream in place. */
export function residualOutput(rows: number, D: number, source: BufferSource = freshBuffers): ResidualOutput {
  const out = source("out", [rows, D]);
  return { x: out, out, projected: null, mask: null, source };
}

/**
 * out = x + γ ⊙ drop(layer(input)). Without dropout and layer scale the product adds straight
 * into `out` (the matmul's accumulate), so inference needs no separate buffer or add.
 */
export function residualForward(
  be: Backend, layer: Linear, a: { input: Float32Array; x: Float32Array; rows: number }, r: ResidualOutput, dropout: Dropout | null,
  gamma: Float32Array | null = null,
): void {
  const { input, x, rows } = a;
  r.x = x;
  r.mask = dropout ? dropoutMask(rows * layer.outFeatures, dropout.hidden, dropout.rng) : null;
  if (!r.mask && !gamma) {
    if (r.out !== x) r.out.set(x);
    linear(be, layer, input, rows, { out: r.out, accumulate: true });
    return;
  }
  r.projected ??= r.source("projected", [rows, layer.outFeatures]);
  linear(be, layer, input, rows, { out: r.projected });
  applyMask(r.projected, r.mask);
  if (!gamma) {
    be.add(x, r.projected, r.out, r.out.length);
    return;
  }
  const D = layer.outFeatures;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < D; j++) r.out[i * D + j] = x[i * D + j] + gamma[j] * r.projected[i * D + j];
  }
}

/**
 * Backward through the dropout and the closing projection: gradients of `layer` added into
 * `grads`, dL/d(input) written to `dinput`. The stream's own gradient passes through unchanged.
 */
export function residualBackward(
  be: Backend, layer: Linear, grads: LinearGrads, r: ResidualOutput,
  a: { input: Float32Array; dout: Float32Array; dinput: Float32Array }, scratch: Scratch,
  scale: { gamma: Float32Array; dgamma: Float32Array | null } | null = null,
): void {
  const { input, dout, dinput } = a;
  const D = layer.outFeatures;
  const rows = dout.length / D;
  let dy = dout;
  if (r.mask || scale) {
    dy = scratch.get("residual.dy", dout.length);
    dy.set(dout);
  }
  if (scale) {
    // out = x + γ ⊙ p: dγ = Σ_rows dout ⊙ p, dp = dout ⊙ γ (p already masked)
    const { gamma, dgamma } = scale;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < D; j++) {
        if (dgamma) dgamma[j] += dout[i * D + j] * r.projected![i * D + j];
        dy[i * D + j] *= gamma[j];
      }
    }
  }
  if (r.mask) applyMask(dy, r.mask);
  linearBackward(be, layer, grads, { x: input, rows, dy, dx: dinput });
}
