import type { Backend } from "../backend/backend.js";
import type { Params } from "../tensor.js";

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

  /** Continues from a saved state (resume): the step count and every moment buffer. */
  restore(step: number, state: Map<string, Float32Array[]>): void {
    this.step = step;
    for (const [k, v] of state) this.state.set(k, v);
  }

  /** One update with learning rate `lr` (before each group's scale), on the trainer's backend. Frozen params are in no group. */
  update(params: Params, grads: Params, lr: number, be: Backend): void {
    this.step++;
    const o = this.options;
    for (const group of this.groups) {
      const glr = lr * group.lrScale;
      for (const name of group.names) {
        const w = params.get(name)!.data;
        const g = grads.get(name)!.data;
        const first = !this.state.has(name);
        if (o.kind === "sgd") {
          if (first && o.momentum !== 0) this.state.set(name, [new Float32Array(w.length)]);
          const buf = o.momentum !== 0 ? this.state.get(name)![0] : null;
          be.sgdStep(w, g, buf, { n: w.length, lr: glr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: group.weightDecay, first });
        } else {
          if (first) this.state.set(name, [new Float32Array(w.length), new Float32Array(w.length)]);
          const [m, v] = this.state.get(name)!;
          be.adamwStep(w, g, m, v, { n: w.length, lr: glr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: group.weightDecay, t: this.step });
        }
      }
    }
  }
}

/** The optimizer a run's options name (PyTorch's defaults for AdamW's betas and eps). */
export function optimizerFor(o: { optimizer: "sgd" | "adamw"; momentum: number; nesterov?: boolean }): OptimizerOptions {
  return o.optimizer === "sgd"
    ? { kind: "sgd", momentum: o.momentum, dampening: 0, nesterov: o.nesterov ?? false }
    : { kind: "adamw", beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

/** timm's rule: no weight decay on biases, norms and embeddings (position, class token, decoder positions). */
export function noWeightDecay(name: string): boolean {
  return name.endsWith(".bias") || name.includes("norm") || name.endsWith("cls_token") || name.endsWith("dist_token") || name.endsWith("reg_token") || name.endsWith(".gamma") || name.endsWith("pos_embed") || name.includes("embed_positions");
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
