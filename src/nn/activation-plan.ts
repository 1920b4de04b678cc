import { elements, type BufferSource } from "./buffers.js";
import type { Scratch } from "./scratch.js";

/*
 * The one place that decides where a Transformer block's activations live (llm.c's
 * ActivationTensors). The modules name their buffers (self-attention: "ln.out", "qkv", "heads",
 * "att.probs", …; the MLP: "hidden", "act", …); the plan says, per kind of pass, whether each is
 * one array per layer, one array every layer overwrites in turn, the residual stream itself, or
 * another buffer of the same branch. A buffer the table does not list is an error, so a new one
 * cannot be added without deciding its lifetime.
 */

/**
 * - "kept": backward follows, so what it reads is one array per layer; what it never reads (qkv
 *   before the head split, context heads, GELU's output, which it recomputes) is shared.
 * - "inference": the stream is updated in place and every layer overwrites one set of buffers,
 *   but each layer's attention probabilities (and a decoder's cross-attention maps) are returned.
 * - "output-only": as inference, keeping no probabilities either (a captioner's encoder).
 */
export type PassPlan = "kept" | "inference" | "output-only";

export type Lifetime = "layer" | "shared" | "stream" | { alias: string };

const ALL_SHARED: Record<PassPlan, Lifetime> = { kept: "layer", inference: "shared", "output-only": "shared" };
const RETURNED: Record<PassPlan, Lifetime> = { kept: "layer", inference: "layer", "output-only": "shared" };
const NEVER_READ_BACK: Record<PassPlan, Lifetime> = { kept: "shared", inference: "shared", "output-only": "shared" };

/** Each buffer a branch names (its prefix "attn." / "self." / "cross." / "mlp." dropped), by kind of pass. */
const LIFETIMES: Record<string, Record<PassPlan, Lifetime>> = {
  "ln.out": ALL_SHARED, // (rows, D) norm(x), or post-norm's output
  "ln.mean": ALL_SHARED, // (rows)
  "ln.rstd": ALL_SHARED, // (rows)
  qkv: NEVER_READ_BACK, // (rows, 3A) the fused product, split into `heads` at once
  heads: ALL_SHARED, // (3, B, H, T, hd) q, k, v
  q: NEVER_READ_BACK, // cross-attention: (rows, D) split into `qHeads` at once
  qHeads: ALL_SHARED, // (Bm, H, R, hd)
  "att.probs": RETURNED, // (BH, Tq, Tk)
  "att.contextHeads": NEVER_READ_BACK, // (BH, Tq, hd) merged into `context` at once
  "att.dropped": ALL_SHARED, // (BH, Tq, Tk) probabilities after attention dropout (training only)
  maps: RETURNED, // cross-attention's (B, H, T, N) when beams share an image's memory
  context: ALL_SHARED, // (rows, A) the closing projection's input
  "res.out": { kept: "layer", inference: "stream", "output-only": "stream" }, // (rows, D) the stream after the branch
  "res.projected": ALL_SHARED, // (rows, D) with dropout or a layer scale: the branch before γ
  hidden: ALL_SHARED, // (rows, M) fc1's output
  act: { kept: "shared", inference: { alias: "hidden" }, "output-only": { alias: "hidden" } }, // (rows, M) GELU's: in place at inference
};

/** Where buffer `name` ("attn.ln.out") lives in a pass of this kind. */
export function lifetimeOf(plan: PassPlan, name: string): Lifetime {
  const local = name.slice(name.indexOf(".") + 1);
  const lifetime = LIFETIMES[local]?.[plan];
  if (!lifetime) throw new Error(`activation plan: no lifetime for buffer ${name}`);
  return lifetime;
}

/**
 * Layer `layer`'s buffers for a pass of this kind: taken from `pool` (per-layer ones under the
 * layer's index, shared ones under their name alone), so a pool kept from pass to pass (a
 * training loop's) is overwritten instead of reallocated. `stream` is the residual stream an
 * in-place pass updates.
 */
export function planBuffers(plan: PassPlan, layer: number, pool: Scratch, stream?: Float32Array): BufferSource {
  const taken = new Map<string, Float32Array>();
  return (name, shape) => {
    const lifetime = lifetimeOf(plan, name);
    const n = elements(shape);
    let buffer: Float32Array | undefined;
    if (lifetime === "stream") {
      if (stream?.length !== n) throw new Error(`activation plan: ${name} is the stream, but the pass gave no stream of ${n} values`);
      buffer = stream;
    } else if (typeof lifetime === "object") {
      buffer = taken.get(`${name.slice(0, name.indexOf("."))}.${lifetime.alias}`);
      if (buffer?.length !== n) throw new Error(`activation plan: ${name} aliases ${lifetime.alias}, which the branch has not named first`);
    } else {
      buffer = pool.get(lifetime === "layer" ? `${layer}.${name}` : name, n);
    }
    taken.set(name, buffer);
    return buffer;
  };
}

export interface PlannedBuffer {
  name: string;
  shape: number[];
  lifetime: Lifetime;
}

/** Every buffer `build` names (one layer's constructor called with a recording source), with its shape and lifetime. */
export function listPlan(plan: PassPlan, build: (source: BufferSource) => void): PlannedBuffer[] {
  const list: PlannedBuffer[] = [];
  build((name, shape) => {
    list.push({ name, shape, lifetime: lifetimeOf(plan, name) });
    return new Float32Array(0);
  });
  return list;
}

/** Bytes a pass of `layers` layers holds in these buffers: per-layer ones `layers` times, shared ones once, the stream and aliases not at all. */
export function planBytes(list: PlannedBuffer[], layers: number): number {
  let values = 0;
  for (const b of list) {
    if (b.lifetime === "layer") values += layers * elements(b.shape);
    else if (b.lifetime === "shared") values += elements(b.shape);
  }
  return 4 * values;
}
