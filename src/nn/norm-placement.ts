import type { Backend } from "../backend/backend.js";
import { layernorm, layernormBackward, type LayernormOutput, type Norm, type NormGrads } from "./layernorm.js";
import type { ResidualOutput } from "./residual.js";
import type { Scratch } from "./scratch.js";

/*
 * Where a branch's LayerNorm sits. Pre-norm (ViT): out = x + f(norm(x)). Post-norm
 * (nn.TransformerEncoderLayer's default, norm_first=False): out = norm(x + f(x)). Both branches
 * of a block (attention, MLP) share these four steps.
 */

/** What the branch's first layer reads: norm(x) (pre-norm, written into `ln`) or x itself (post-norm). */
export function branchInput(be: Backend, norm: Norm, post: boolean, x: Float32Array, rows: number, ln: LayernormOutput): Float32Array {
  return post ? x : layernorm(be, norm, x, rows, ln).out;
}

/**
 * After the residual sum: post-norm normalizes it into `ln`. When the pass updates the stream in
 * place (inference: res.out is res.x), the normalized rows are copied back into the stream, so
 * the stream stays the one buffer; a kept pass leaves the sum in res.out for backward.
 */
export function finishBranch(be: Backend, norm: Norm, post: boolean, res: ResidualOutput, ln: LayernormOutput, rows: number): void {
  if (!post) return;
  layernorm(be, norm, res.out, rows, ln);
  if (res.out === res.x) res.out.set(ln.out);
}

/** The stream after the branch. */
export function branchOutput(post: boolean, res: ResidualOutput, ln: LayernormOutput): Float32Array {
  return post && res.out !== res.x ? ln.out : res.out;
}

/** Post-norm: dL/d(residual sum) from dL/d(branch output), in scratch; pre-norm: dout itself. */
export function sumGradient(
  be: Backend, norm: Norm, g: NormGrads, post: boolean, res: ResidualOutput, ln: LayernormOutput, dout: Float32Array, scratch: Scratch, key: string,
): Float32Array {
  if (!post) return dout;
  const dsum = scratch.get(`${key}.dsum`, dout.length);
  layernormBackward(be, norm, g, { x: res.out, saved: ln, dout, dx: dsum, rows: dout.length / norm.weight.length });
  return dsum;
}

/**
 * dL/dx = dL/d(sum) (the residual path) + the branch input's gradient: through the pre-norm
 * (din is dL/d(norm(x))) or straight (post-norm: din is dL/dx of the first layer). Written to dx.
 */
export function inputGradient(
  be: Backend, norm: Norm, g: NormGrads, post: boolean, res: ResidualOutput, ln: LayernormOutput,
  a: { dsum: Float32Array; din: Float32Array; dx: Float32Array }, scratch: Scratch, key: string,
): void {
  const rows = a.dsum.length / norm.weight.length;
  let dbranch = a.din;
  if (!post) {
    dbranch = scratch.get(`${key}.dnorm`, a.dsum.length);
    layernormBackward(be, norm, g, { x: res.x, saved: ln, dout: a.din, dx: dbranch, rows });
  }
  be.add(a.dsum, dbranch, a.dx, a.dsum.length);
}
