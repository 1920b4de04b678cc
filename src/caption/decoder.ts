import type { Backend } from "../backend/backend.js";
import { attend, attendBackward } from "../nn/attend.js";
import { layernorm, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward } from "../nn/linear.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import type { DecoderConfig } from "./decoder-config.js";

/** What one decoder layer's backward needs (teacher forcing over T positions). */
interface LayerCache {
  xIn: Float32Array; // (B*T, D)
  ln1: LayernormOutput;
  selfHeads: Float32Array; // (3, B, H, T, hd) q, k, v
  selfProbs: Float32Array; // (B, H, T, T), causal
  selfContext: Float32Array; // (B*T, D)
  xSelf: Float32Array; // after the self-attention residual
  ln2: LayernormOutput;
  crossQ: Float32Array; // (B, H, T, hd)
  crossKV: Float32Array; // (2, B, H, N, hd)
  crossProbs: Float32Array; // (B, H, T, N)
  crossContext: Float32Array; // (B*T, D)
  xCross: Float32Array; // after the cross-attention residual
  ln3: LayernormOutput;
  hidden: Float32Array; // (B*T, M) fc1 output before GELU
}

export interface DecoderForward {
  logits: Tensor; // (B, T, V)
  /** Per layer (B, heads, T, N): where each position looked in the image. */
  crossAttentions: Tensor[];
  cache: { B: number; T: number; N: number; ids: Int32Array; encoded: Float32Array; layers: LayerCache[]; xOut: Float32Array; final: LayernormOutput };
}

/** Output projection weight: the token embedding when tied. */
export function lmHeadWeight(c: DecoderConfig, params: Params): Float32Array {
  return params.get(c.tieEmbeddings ? "decoder.embed_tokens.weight" : "decoder.lm_head.weight")!.data;
}

/**
 * Teacher-forced decoder pass: token ids (B, T) attend causally to each other and fully to the
 * encoder tokens (B, N, E). Returns next-token logits at every position.
 */
export function decoderForward(be: Backend, c: DecoderConfig, params: Params, ids: Int32Array, B: number, T: number, encoded: Tensor): DecoderForward {
  const p = (name: string) => params.get(name)!.data;
  const { hiddenSize: D, numHeads: H, mlpSize: M, encoderHiddenSize: E, vocabSize: V } = c;
  const hd = D / H;
  const N = encoded.shape[1];
  const rows = B * T;
  let x = embedTokens(c, params, ids, B, T); // (B*T, D)
  const layers: LayerCache[] = [];
  const crossAttentions: Tensor[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const k = `decoder.layers.${l}`;
    const xIn = x;
    // x = x + proj(causal_self_attention(norm1(x)))
    const ln1 = layernorm(be, xIn, rows, D, p(`${k}.norm1.weight`), p(`${k}.norm1.bias`), c.layerNormEps);
    const qkv = linear(be, ln1.out, rows, D, p(`${k}.self_attn.qkv.weight`), p(`${k}.self_attn.qkv.bias`), 3 * D);
    const selfHeads = new Float32Array(3 * rows * D);
    be.splitHeads(qkv, selfHeads, B, T, 3, H, hd); // (B, T, 3, H, hd) -> (3, B, H, T, hd)
    const [sq, sk, sv] = thirds(selfHeads, rows * D);
    const selfProbs = new Float32Array(B * H * T * T);
    const ctxHeads = new Float32Array(rows * D);
    attend(be, sq, sk, sv, B * H, T, T, hd, selfProbs, ctxHeads, true);
    const selfContext = new Float32Array(rows * D);
    be.mergeHeads(ctxHeads, selfContext, B, T, 1, H, hd);
    const xSelf = xIn.slice();
    linear(be, selfContext, rows, D, p(`${k}.self_attn.proj.weight`), p(`${k}.self_attn.proj.bias`), D, xSelf, true);
    // x = x + proj(cross_attention(q = norm2(x), k, v = encoder tokens))
    const ln2 = layernorm(be, xSelf, rows, D, p(`${k}.norm2.weight`), p(`${k}.norm2.bias`), c.layerNormEps);
    const qProj = linear(be, ln2.out, rows, D, p(`${k}.cross_attn.q.weight`), p(`${k}.cross_attn.q.bias`), D);
    const kvProj = linear(be, encoded.data as Float32Array, B * N, E, p(`${k}.cross_attn.kv.weight`), p(`${k}.cross_attn.kv.bias`), 2 * D);
    const crossQ = new Float32Array(rows * D);
    be.splitHeads(qProj, crossQ, B, T, 1, H, hd);
    const crossKV = new Float32Array(2 * B * N * D);
    be.splitHeads(kvProj, crossKV, B, N, 2, H, hd); // (B, N, 2, H, hd) -> (2, B, H, N, hd)
    const crossProbs = new Float32Array(B * H * T * N);
    attend(be, crossQ, crossKV.subarray(0, B * N * D), crossKV.subarray(B * N * D), B * H, T, N, hd, crossProbs, ctxHeads, false);
    const crossContext = new Float32Array(rows * D);
    be.mergeHeads(ctxHeads, crossContext, B, T, 1, H, hd);
    crossAttentions.push({ data: crossProbs, shape: [B, H, T, N] });
    const xCross = xSelf.slice();
    linear(be, crossContext, rows, D, p(`${k}.cross_attn.proj.weight`), p(`${k}.cross_attn.proj.bias`), D, xCross, true);
    // x = x + fc2(gelu(fc1(norm3(x))))
    const ln3 = layernorm(be, xCross, rows, D, p(`${k}.norm3.weight`), p(`${k}.norm3.bias`), c.layerNormEps);
    const hidden = linear(be, ln3.out, rows, D, p(`${k}.mlp.fc1.weight`), p(`${k}.mlp.fc1.bias`), M);
    const act = new Float32Array(hidden.length);
    be.geluForward(hidden, act, act.length);
    x = xCross.slice();
    linear(be, act, rows, M, p(`${k}.mlp.fc2.weight`), p(`${k}.mlp.fc2.bias`), D, x, true);
    layers.push({ xIn, ln1, selfHeads, selfProbs, selfContext, xSelf, ln2, crossQ, crossKV, crossProbs, crossContext, xCross, ln3, hidden });
  }
  const final = layernorm(be, x, rows, D, p("decoder.norm.weight"), p("decoder.norm.bias"), c.layerNormEps);
  const logits = linear(be, final.out, rows, D, lmHeadWeight(c, params), p("decoder.lm_head.bias"), V);
  return {
    logits: { data: logits, shape: [B, T, V] }, crossAttentions,
    cache: { B, T, N, ids, encoded: encoded.data as Float32Array, layers, xOut: x, final },
  };
}

/** Token embedding + learned position embedding: (B*T, D). */
export function embedTokens(c: DecoderConfig, params: Params, ids: Int32Array, B: number, T: number, start = 0): Float32Array {
  const D = c.hiddenSize;
  const tok = params.get("decoder.embed_tokens.weight")!.data;
  const pos = params.get("decoder.embed_positions.weight")!.data;
  const x = new Float32Array(B * T * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const id = ids[b * T + t];
      const row = x.subarray((b * T + t) * D, (b * T + t + 1) * D);
      for (let d = 0; d < D; d++) row[d] = tok[id * D + d] + pos[(start + t) * D + d];
    }
  }
  return x;
}

/**
 * Backward from dL/dlogits (B, T, V): adds every decoder parameter's gradient into `grads` and
 * returns dL/d(encoder tokens) (B, N, E), for training the encoder too.
 */
export function decoderBackward(be: Backend, c: DecoderConfig, params: Params, fwd: DecoderForward, dlogits: Float32Array, grads: Params): Float32Array {
  const p = (name: string) => params.get(name)!.data;
  const g = (name: string) => grads.get(name)!.data;
  const { hiddenSize: D, numHeads: H, mlpSize: M, encoderHiddenSize: E, vocabSize: V } = c;
  const hd = D / H;
  const { B, T, N, ids, encoded, layers, xOut, final } = fwd.cache;
  const rows = B * T;

  const dfinal = new Float32Array(rows * D);
  linearBackward(be, final.out, rows, D, lmHeadWeight(c, params), V, dlogits,
    g(c.tieEmbeddings ? "decoder.embed_tokens.weight" : "decoder.lm_head.weight"), g("decoder.lm_head.bias"), dfinal);
  let dx = new Float32Array(rows * D);
  be.layernormBackward(dfinal, xOut, final.mean, final.rstd, p("decoder.norm.weight"), dx, g("decoder.norm.weight"), g("decoder.norm.bias"), rows, D);

  const dEncoded = new Float32Array(B * N * E);
  const dln = new Float32Array(rows * D);
  const dnormIn = new Float32Array(rows * D);
  const dcontext = new Float32Array(rows * D);
  const dctxHeads = new Float32Array(rows * D);
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const k = `decoder.layers.${l}`;
    const L = layers[l];
    // MLP branch.
    const act = new Float32Array(rows * M);
    be.geluForward(L.hidden, act, act.length);
    const dact = new Float32Array(rows * M);
    linearBackward(be, act, rows, M, p(`${k}.mlp.fc2.weight`), D, dx, g(`${k}.mlp.fc2.weight`), g(`${k}.mlp.fc2.bias`), dact);
    be.geluBackward(dact, L.hidden, dact, dact.length);
    linearBackward(be, L.ln3.out, rows, D, p(`${k}.mlp.fc1.weight`), M, dact, g(`${k}.mlp.fc1.weight`), g(`${k}.mlp.fc1.bias`), dln);
    be.layernormBackward(dln, L.xCross, L.ln3.mean, L.ln3.rstd, p(`${k}.norm3.weight`), dnormIn, g(`${k}.norm3.weight`), g(`${k}.norm3.bias`), rows, D);
    be.add(dx, dnormIn, dx, dx.length); // dL/d(xCross)

    // Cross-attention branch.
    linearBackward(be, L.crossContext, rows, D, p(`${k}.cross_attn.proj.weight`), D, dx, g(`${k}.cross_attn.proj.weight`), g(`${k}.cross_attn.proj.bias`), dcontext);
    be.splitHeads(dcontext, dctxHeads, B, T, 1, H, hd);
    const dq = new Float32Array(rows * D);
    const dkv = new Float32Array(2 * B * N * D);
    const half = B * N * D;
    attendBackward(be, L.crossQ, L.crossKV.subarray(0, half), L.crossKV.subarray(half), L.crossProbs, dctxHeads, B * H, T, N, hd,
      dq, dkv.subarray(0, half), dkv.subarray(half));
    const dqProj = new Float32Array(rows * D);
    be.mergeHeads(dq, dqProj, B, T, 1, H, hd);
    const dkvProj = new Float32Array(2 * half);
    be.mergeHeads(dkv, dkvProj, B, N, 2, H, hd); // (2, B, H, N, hd) -> (B, N, 2, H, hd)
    linearBackward(be, encoded, B * N, E, p(`${k}.cross_attn.kv.weight`), 2 * D, dkvProj, g(`${k}.cross_attn.kv.weight`), g(`${k}.cross_attn.kv.bias`), dEncoded, true);
    linearBackward(be, L.ln2.out, rows, D, p(`${k}.cross_attn.q.weight`), D, dqProj, g(`${k}.cross_attn.q.weight`), g(`${k}.cross_attn.q.bias`), dln);
    be.layernormBackward(dln, L.xSelf, L.ln2.mean, L.ln2.rstd, p(`${k}.norm2.weight`), dnormIn, g(`${k}.norm2.weight`), g(`${k}.norm2.bias`), rows, D);
    be.add(dx, dnormIn, dx, dx.length); // dL/d(xSelf)

    // Causal self-attention branch.
    linearBackward(be, L.selfContext, rows, D, p(`${k}.self_attn.proj.weight`), D, dx, g(`${k}.self_attn.proj.weight`), g(`${k}.self_attn.proj.bias`), dcontext);
    be.splitHeads(dcontext, dctxHeads, B, T, 1, H, hd);
    const dheads = new Float32Array(3 * rows * D);
    const [sq, sk, sv] = thirds(L.selfHeads, rows * D);
    const [dsq, dsk, dsv] = thirds(dheads, rows * D);
    attendBackward(be, sq, sk, sv, L.selfProbs, dctxHeads, B * H, T, T, hd, dsq, dsk, dsv);
    const dqkv = new Float32Array(3 * rows * D);
    be.mergeHeads(dheads, dqkv, B, T, 3, H, hd);
    linearBackward(be, L.ln1.out, rows, D, p(`${k}.self_attn.qkv.weight`), 3 * D, dqkv, g(`${k}.self_attn.qkv.weight`), g(`${k}.self_attn.qkv.bias`), dln);
    be.layernormBackward(dln, L.xIn, L.ln1.mean, L.ln1.rstd, p(`${k}.norm1.weight`), dnormIn, g(`${k}.norm1.weight`), g(`${k}.norm1.bias`), rows, D);
    const dxIn = new Float32Array(rows * D);
    be.add(dx, dnormIn, dxIn, dxIn.length);
    dx = dxIn;
  }

  // Embeddings: x = embed_tokens[ids] + embed_positions[t]
  const dtok = g("decoder.embed_tokens.weight");
  const dpos = g("decoder.embed_positions.weight");
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = dx.subarray((b * T + t) * D, (b * T + t + 1) * D);
      const id = ids[b * T + t];
      for (let d = 0; d < D; d++) {
        dtok[id * D + d] += row[d];
        dpos[t * D + d] += row[d];
      }
    }
  }
  return dEncoded;
}

function thirds(a: Float32Array, n: number): [Float32Array, Float32Array, Float32Array] {
  return [a.subarray(0, n), a.subarray(n, 2 * n), a.subarray(2 * n, 3 * n)];
}
