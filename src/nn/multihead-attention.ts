import type { Backend } from "../backend/backend.js";
import { attend, attendOutput, type AttendOutput } from "./attend.js";
import { linear, type Linear } from "./linear.js";

/**
 * PyTorch's nn.MultiheadAttention (inference): one packed in_proj (3D, D) whose rows are the
 * query, key and value projections, and out_proj. Queries, keys and values come from separate
 * inputs, as DETR feeds them (position encodings added to queries and keys, not to values).
 */
export interface MultiheadAttention {
  inProj: Linear; // D -> 3D (in_proj_weight, in_proj_bias)
  outProj: Linear; // D -> D
  heads: number;
}

/** Rows [part*D, (part+count)*D) of the packed projection: q is part 0, k 1, v 2. */
export function inProjPart(w: MultiheadAttention, part: number, count = 1): Linear {
  const D = w.inProj.inFeatures;
  return {
    weight: w.inProj.weight.subarray(part * D * D, (part + count) * D * D),
    bias: w.inProj.bias ? w.inProj.bias.subarray(part * D, (part + count) * D) : null,
    inFeatures: D, outFeatures: count * D,
  };
}

/**
 * Inputs (B*T, D) projected by `count` consecutive parts starting at `part`, split into contiguous
 * heads: (count, B, H, T, hd). One product when queries and keys share their input.
 */
export function projectHeads(be: Backend, w: MultiheadAttention, x: Float32Array, B: number, T: number, part: number, count = 1): Float32Array {
  const D = w.inProj.inFeatures;
  const projected = linear(be, inProjPart(w, part, count), x, B * T); // (B, T, count, H, hd)
  if (T === 1 && (count === 1 || B === 1)) return projected; // one position: already (count, B, H, 1, hd)
  const heads = new Float32Array(projected.length);
  be.splitHeads(projected, heads, B, T, count, w.heads, D / w.heads); // -> (count, B, H, T, hd)
  return heads;
}

export interface MhaShape {
  B: number;
  Tq: number;
  Tk: number;
  /** Queries are positions start.. and see no later key (a decoder). */
  causal?: { start: number };
  /** (B, Tk), nonzero = a padded key. */
  keyPadding?: Uint8Array | null;
}

/**
 * out (B*Tq, D) = out_proj(merge(softmax(q k^T / sqrt(hd)) v)) for heads q (B, H, Tq, hd), k and
 * v (B, H, Tk, hd). Returns the output and the attention probabilities (B, H, Tq, Tk).
 */
export function mhaAttend(
  be: Backend, w: MultiheadAttention, h: { q: Float32Array; k: Float32Array; v: Float32Array }, s: MhaShape, att: AttendOutput = attendOutput({ BH: s.B * w.heads, Tq: s.Tq, Tk: s.Tk, hd: w.inProj.inFeatures / w.heads }),
): { out: Float32Array; att: AttendOutput } {
  const D = w.inProj.inFeatures;
  const hd = D / w.heads;
  attend(be, h, {
    BH: s.B * w.heads, Tq: s.Tq, Tk: s.Tk, hd, causal: s.causal,
    keyPadding: s.keyPadding ? { mask: s.keyPadding, heads: w.heads } : undefined,
  }, att);
  let context = att.contextHeads; // one query per sequence: (B, H, 1, hd) is already (B, 1, D)
  if (s.Tq > 1) {
    context = new Float32Array(s.B * s.Tq * D);
    be.mergeHeads(att.contextHeads, context, s.B, s.Tq, 1, w.heads, hd); // (B, H, Tq, hd) -> (B, Tq, D)
  }
  return { out: linear(be, w.outProj, context, s.B * s.Tq), att };
}
