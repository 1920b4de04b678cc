// What a training loop keeps around vitForward / vitBackward (vit-pass.ts): its buffers, and zeroed gradients.
import { Scratch } from "../nn/scratch.js";
import type { Params } from "../tensor.js";

/**
 * What a training loop keeps from step to step, so a step allocates (and page-faults) almost
 * nothing: the kept pass's activation buffers (the activation plan's pool), overwritten by the
 * next pass of the same shape (a batch of another size, an epoch's last, replaces them), and
 * backward's scratch buffers. The previous step's activations and attention maps are gone once
 * the next pass runs, and backward returns no attention gradients: for loops that keep neither
 * (trainers, bench).
 */
export class TrainWorkspace {
  readonly activations = new Scratch();
  readonly scratch = new Scratch();
}

/** Zeroed gradient buffers, one per parameter. */
export function zeroGrads(params: Params): Params {
  return new Map([...params].map(([name, t]) => [name, { data: new Float32Array(t.data.length), shape: t.shape }]));
}
