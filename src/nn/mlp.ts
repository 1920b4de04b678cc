import type { Backend } from "../backend/backend.js";
import { freshBuffers, within, type BufferSource } from "./buffers.js";
import type { Dropout } from "./dropout.js";
import { layernormOutput, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "./linear.js";
import { branchInput, finishBranch, inputGradient, sumGradient } from "./norm-placement.js";
import { residualBackward, residualForward, residualOutput, type ResidualOutput } from "./residual.js";
import type { Scratch } from "./scratch.js";

import { elementwiseBackward, elementwiseForward, type Activation } from "./activation.js";

export type { Activation } from "./activation.js";

/** MLP branch: x + fc2(act(fc1(norm(x)))) (pre-norm), or norm(x + fc2(act(fc1(x)))) with `post`. */
export interface Mlp {
  norm: Norm;
  fc1: Linear; // D -> M
  fc2: Linear; // M -> D
  activation?: Activation; // "gelu" when omitted
  layerScale?: Float32Array | null; // (D) γ on the branch output (ls2)
  post?: boolean; // the norm after the residual sum
}

export function activate(be: Backend, a: Activation | undefined, x: Float32Array, out: Float32Array, n: number): void {
  if (a === "gelu_tanh") be.geluTanhForward(x, out, n);
  else if (a === undefined || a === "gelu") be.geluForward(x, out, n);
  else elementwiseForward(a, x, out, n);
}

export function activateBackward(be: Backend, a: Activation | undefined, dy: Float32Array, x: Float32Array, dx: Float32Array, n: number): void {
  if (a === "gelu_tanh") be.geluTanhBackward(dy, x, dx, n);
  else if (a === undefined || a === "gelu") be.geluBackward(dy, x, dx, n);
  else elementwiseBackward(a, dy, x, dx, n);
}

export interface MlpGrads {
  norm: NormGrads;
  fc1: LinearGrads;
  fc2: LinearGrads;
  layerScale?: Float32Array | null;
}

export interface MlpActs {
  ln: LayernormOutput; // (rows, D)
  hidden: Float32Array; // (rows, M) fc1 output before GELU: what backward needs
  /** (rows, M) GELU output; `hidden` itself when nothing is kept (GELU in place), else scratch: backward recomputes it. */
  act: Float32Array;
  res: ResidualOutput;
}

export function mlpActs(rows: number, D: number, M: number, source: BufferSource = freshBuffers): MlpActs {
  const hidden = source("hidden", [rows, M]);
  return { ln: layernormOutput(rows, D, within(source, "ln")), hidden, act: source("act", [rows, M]), res: residualOutput(rows, D, within(source, "res")) };
}

export function mlpForward(be: Backend, w: Mlp, x: Float32Array, rows: number, acts: MlpActs, dropout: Dropout | null = null): void {
  const input = branchInput(be, w.norm, !!w.post, x, rows, acts.ln); // norm(x), or x for post-norm
  if (acts.act === acts.hidden && (w.activation ?? "gelu") === "gelu") {
    // Nothing keeps fc1's output (inference): GELU runs as the product's post-op, one pass less over (rows, M).
    linear(be, w.fc1, input, rows, { out: acts.hidden, gelu: true }); // (rows, M)
  } else {
    linear(be, w.fc1, input, rows, { out: acts.hidden }); // (rows, M)
    activate(be, w.activation, acts.hidden, acts.act, rows * w.fc1.outFeatures);
  }
  residualForward(be, w.fc2, { input: acts.act, x, rows }, acts.res, dropout, w.layerScale ?? null);
  finishBranch(be, w.norm, !!w.post, acts.res, acts.ln, rows);
}

/** Backward from dL/d(out): gradients added into `g`; dL/dx written to `dx` (may be `dout` itself). */
export function mlpBackward(
  be: Backend, w: Mlp, g: MlpGrads, acts: MlpActs, grad: { dout: Float32Array; dx: Float32Array }, scratch: Scratch,
): void {
  const D = w.fc1.inFeatures;
  const M = w.fc1.outFeatures;
  const rows = grad.dout.length / D;
  const act = scratch.get("mlp.act", rows * M);
  activate(be, w.activation, acts.hidden, act, act.length); // recomputed: cheaper than keeping it
  const post = !!w.post;
  const dsum = sumGradient(be, w.norm, g.norm, post, acts.res, acts.ln, grad.dout, scratch, "mlp"); // dL/d(x + branch)
  const dact = scratch.get("mlp.dact", rows * M);
  residualBackward(be, w.fc2, g.fc2, acts.res, { input: act, dout: dsum, dinput: dact }, scratch,
    w.layerScale ? { gamma: w.layerScale, dgamma: g.layerScale ?? null } : null);
  activateBackward(be, w.activation, dact, acts.hidden, dact, dact.length);
  const din = scratch.get("mlp.din", rows * D);
  linearBackward(be, w.fc1, g.fc1, { x: post ? acts.res.x : acts.ln.out, rows, dy: dact, dx: din });
  inputGradient(be, w.norm, g.norm, post, acts.res, acts.ln, { dsum, din, dx: grad.dx }, scratch, "mlp");
}
