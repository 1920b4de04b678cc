import type { Params } from "../models/vit-params.js";

/** A parameter group: names sharing a learning-rate multiplier and weight decay. */
export interface ParamGroup {
  names: string[];
  lrScale: number; // multiplies the scheduled learning rate (e.g. a larger lr for a new head)
  weightDecay: number;
}

export interface SgdOptions {
  kind: "sgd";
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

export interface AdamWOptions {
  kind: "adamw";
  beta1: number;
  beta2: number;
  eps: number;
}

export type OptimizerOptions = SgdOptions | AdamWOptions;

/**
 * SGD (momentum, dampening, nesterov, weight decay) and AdamW with PyTorch's exact update
 * rules, over named parameters. State (momentum buffers, Adam moments, step) is plain named
 * arrays so it can be saved and resumed.
 */
export class Optimizer {
  step = 0;
  readonly state = new Map<string, Float32Array[]>(); // sgd: [momentum]; adamw: [m, v]

  constructor(
    readonly options: OptimizerOptions,
    readonly groups: ParamGroup[],
  ) {}

  /** One update with learning rate `lr` (before each group's scale). Frozen params are in no group. */
  update(params: Params, grads: Params, lr: number): void {
    this.step++;
    for (const group of this.groups) {
      const glr = lr * group.lrScale;
      for (const name of group.names) {
        const w = params.get(name)!.data;
        const g = grads.get(name)!.data;
        if (this.options.kind === "sgd") this.sgd(name, w, g, glr, group.weightDecay, this.options);
        else this.adamw(name, w, g, glr, group.weightDecay, this.options);
      }
    }
  }

  private sgd(name: string, w: Float32Array, g: Float32Array, lr: number, wd: number, o: SgdOptions): void {
    const first = !this.state.has(name);
    if (o.momentum !== 0 && first) this.state.set(name, [new Float32Array(w.length)]);
    const buf = o.momentum !== 0 ? this.state.get(name)![0] : null;
    for (let i = 0; i < w.length; i++) {
      let d = g[i] + wd * w[i];
      if (buf) {
        // torch.optim.SGD: the first step copies the gradient into the buffer (no dampening).
        buf[i] = first ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      w[i] -= lr * d;
    }
  }

  private adamw(name: string, w: Float32Array, g: Float32Array, lr: number, wd: number, o: AdamWOptions): void {
    if (!this.state.has(name)) this.state.set(name, [new Float32Array(w.length), new Float32Array(w.length)]);
    const [m, v] = this.state.get(name)!;
    const c1 = 1 - o.beta1 ** this.step;
    const c2 = Math.sqrt(1 - o.beta2 ** this.step);
    for (let i = 0; i < w.length; i++) {
      w[i] *= 1 - lr * wd; // decoupled weight decay
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      w[i] -= (lr / c1) * (m[i] / (Math.sqrt(v[i]) / c2 + o.eps));
    }
  }
}

/** Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(grads: Params, names: string[], maxNorm: number): number {
  let sq = 0;
  for (const n of names) for (const v of grads.get(n)!.data) sq += v * v;
  const norm = Math.sqrt(sq);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6); // torch.nn.utils.clip_grad_norm_
    for (const n of names) {
      const g = grads.get(n)!.data;
      for (let i = 0; i < g.length; i++) g[i] *= s;
    }
  }
  return norm;
}
