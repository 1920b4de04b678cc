import type { Backend } from "../backend/backend.js";
import { planBuffers } from "../nn/activation-plan.js";
import { crossKVForward, type CrossKV } from "../nn/cross-attention.js";
import { decoderLayerActs, decoderLayerBackward, decoderLayerForward, type DecoderLayerActs } from "../nn/decoder-layer.js";
import { layerGrads, layerWeights, type LayerSource } from "../nn/from-params.js";
import { layernorm, layernormBackward, type LayernormOutput } from "../nn/layernorm.js";
import { linear, linearBackward, type Linear, type LinearGrads } from "../nn/linear.js";
import { activate, activateBackward } from "../nn/mlp.js";
import { Scratch } from "../nn/scratch.js";
import type { KVCache, SeqShape } from "../nn/self-attention.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import type { DecoderConfig } from "./decoder-config.js";

/** Layer l's layers under the decoder's names, as weights or as gradient buffers (whichever `t` builds). */
export function decoderLayer<L, N>(t: LayerSource<L, N>, l: number, c: Pick<DecoderConfig, "numHeads" | "activation" | "norm">) {
  const k = `decoder.layers.${l}`;
  const heads = c.numHeads;
  const post = c.norm === "post";
  return {
    self: { norm: t.norm(`${k}.norm1`), qkv: t.linear(`${k}.self_attn.qkv`), proj: t.linear(`${k}.self_attn.proj`), heads, post },
    cross: { norm: t.norm(`${k}.norm2`), q: t.linear(`${k}.cross_attn.q`), kv: t.linear(`${k}.cross_attn.kv`), proj: t.linear(`${k}.cross_attn.proj`), heads, post },
    mlp: { norm: t.norm(`${k}.norm3`), fc1: t.linear(`${k}.mlp.fc1`), fc2: t.linear(`${k}.mlp.fc2`), activation: c.activation, post },
  };
}

/** The output projection: its weight is the token embedding (V, D) when tied. */
function lmHeadName(c: DecoderConfig): string {
  return c.tieEmbeddings ? "decoder.embed_tokens.weight" : "decoder.lm_head.weight";
}

function lmHead(c: DecoderConfig, params: Params): Linear {
  return { weight: params.get(lmHeadName(c))!.data, bias: params.get("decoder.lm_head.bias")?.data ?? null, inFeatures: c.hiddenSize, outFeatures: c.vocabSize };
}

function lmHeadGrads(c: DecoderConfig, grads: Params): LinearGrads {
  return { weight: grads.get(lmHeadName(c))?.data ?? null, bias: grads.get("decoder.lm_head.bias")?.data ?? null };
}

const PROJECTION = "decoder.enc_to_dec_proj";

/**
 * Every layer's cross-attention keys and values of the encoder's tokens (B, N, E): computed once
 * per image batch, after HF's enc_to_dec_proj when the config has one.
 */
export function memoryKeysValues(be: Backend, c: DecoderConfig, params: Params, encoded: Float32Array, B: number, N: number): CrossKV[] {
  const W = layerWeights(params, c.layerNormEps);
  const memory = c.encoderProjection === undefined ? encoded : linear(be, W.linear(PROJECTION), encoded, B * N); // (B*N, E)
  return Array.from({ length: c.numLayers }, (_, l) => crossKVForward(be, decoderLayer(W, l, c).cross, memory, B, N));
}

export interface DecoderPassOptions {
  /** Keep what backward needs (one activation set per layer); else one workspace updated in place. */
  keep: boolean;
  /** Incremental decoding: the positions start at `start`, each layer appends to and attends to its cache. */
  cache?: { kv: KVCache[]; start: number };
  /**
   * A pass of the same shape (not kept) whose buffers this one overwrites, so a search allocates
   * nothing per step: its logits and cross-attentions are valid until the next such pass.
   */
  reuse?: DecoderPass;
}

export interface DecoderPass {
  logits: Float32Array; // (B*T, V)
  crossAttentions: Float32Array[]; // per layer (B, H, T, N)
  layers: DecoderLayerActs[]; // per layer: kept ones, or the workspace updated in place
  embedded: Float32Array | null; // (B*T, D) token + position embeddings, before BERT's embedding norm
  embedNorm: LayernormOutput | null;
  xOut: Float32Array; // (B*T, D) the stream after the last layer
  final: LayernormOutput | null; // pre-norm decoders' final norm
  head: HeadTransform | null; // BERT's prediction-head transform
}

/** BERT's prediction-head transform: dense (D -> D), activation, LayerNorm; kept for backward. */
interface HeadTransform {
  dense: Float32Array; // (rows, D) before the activation
  act: Float32Array; // (rows, D)
  norm: LayernormOutput;
}

/**
 * The decoder's one forward: token ids (B, T) at positions start.. attend causally to each other
 * (and to the cached positions before them) and fully to the memory's keys and values. Teacher
 * forcing runs every position at once and keeps activations; decoding runs one position per
 * call with a cache and keeps nothing.
 */
export function decoderPass(
  be: Backend, c: DecoderConfig, params: Params, ids: Int32Array, s: SeqShape, memory: CrossKV[], o: DecoderPassOptions,
): DecoderPass {
  const W = layerWeights(params, c.layerNormEps);
  const { hiddenSize: D, numHeads: H, mlpSize: M } = c;
  const rows = s.B * s.T;
  const start = o.cache?.start ?? 0;
  const reuse = o.keep ? undefined : o.reuse;
  let x = embedTokens(c, params, ids, s, start, (c.embeddingNorm ? reuse?.embedded : reuse?.xOut) ?? undefined); // (B*T, D)
  const embedded = c.embeddingNorm ? x : null;
  const embedNorm = c.embeddingNorm ? layernorm(be, W.norm("decoder.embed_norm"), x, rows, reuse?.embedNorm ?? undefined) : null;
  if (embedNorm && o.keep) x = embedNorm.out;
  else if (embedNorm) {
    x = reuse?.xOut ?? new Float32Array(rows * D); // the stream updated in place: not the norm's own buffer
    x.set(embedNorm.out);
  }
  const sizes = { D, H, M };
  const Tk = o.cache?.kv[0].capacity;
  const layers: DecoderLayerActs[] = [];
  const pool = new Scratch();
  for (let l = 0; l < c.numLayers; l++) {
    const acts = reuse?.layers[l] ?? decoderLayerActs(s, { ...sizes, N: memory[l].N, memories: memory[l].batch }, planBuffers(o.keep ? "kept" : "inference", l, pool, x), { Tk });
    const cache = o.cache ? { kv: o.cache.kv[l], start } : undefined;
    x = decoderLayerForward(be, decoderLayer(W, l, c), x, s, memory[l], acts, cache);
    layers.push(acts);
  }
  const final = (c.norm ?? "pre") === "pre" ? layernorm(be, W.norm("decoder.norm"), x, rows, reuse?.final ?? undefined) : null;
  let out = final ? final.out : x; // (B*T, D)
  let head: HeadTransform | null = null;
  if (c.headTransform) {
    const dense = linear(be, W.linear("decoder.head_transform.dense"), out, rows, { out: reuse?.head?.dense });
    const act = reuse?.head?.act ?? new Float32Array(dense.length);
    activate(be, c.activation, dense, act, dense.length);
    head = { dense, act, norm: layernorm(be, W.norm("decoder.head_transform.norm"), act, rows, reuse?.head?.norm) };
    out = head.norm.out;
  }
  const logits = linear(be, lmHead(c, params), out, rows, { out: reuse?.logits }); // (B*T, V)
  return { logits, crossAttentions: layers.map((a) => a.cross.maps), layers, embedded, embedNorm, xOut: x, final, head };
}

export interface DecoderForward {
  logits: Tensor; // (B, T, V)
  /** Per layer (B, heads, T, N): where each position looked in the image. */
  crossAttentions: Tensor[];
  cache: { s: SeqShape; ids: Int32Array; memory: CrossKV[]; pass: DecoderPass; encoded: Float32Array };
}

/**
 * Teacher-forced decoder pass: token ids (B, T) attend causally to each other and fully to the
 * encoder tokens (B, N, E). Returns next-token logits at every position.
 */
export function decoderForward(be: Backend, c: DecoderConfig, params: Params, ids: Int32Array, B: number, T: number, encoded: Tensor): DecoderForward {
  const N = encoded.shape[1];
  const s = { B, T };
  const memory = memoryKeysValues(be, c, params, encoded.data, B, N);
  const pass = decoderPass(be, c, params, ids, s, memory, { keep: true });
  return {
    logits: { data: pass.logits, shape: [B, T, c.vocabSize] },
    crossAttentions: pass.crossAttentions.map((data) => ({ data, shape: [B, c.numHeads, T, N] })),
    cache: { s, ids, memory, pass, encoded: encoded.data },
  };
}

/** Token embedding + learned position embedding of positions start..start+T-1: (B*T, D), written into `into` when given. */
export function embedTokens(c: DecoderConfig, params: Params, ids: Int32Array, s: SeqShape, start = 0, into?: Float32Array): Float32Array {
  const D = c.hiddenSize;
  const tok = params.get("decoder.embed_tokens.weight")!.data;
  const pos = params.get("decoder.embed_positions.weight")!.data;
  const x = into ?? new Float32Array(s.B * s.T * D);
  for (let r = 0; r < s.B * s.T; r++) {
    const id = ids[r];
    const t = start + (r % s.T);
    for (let d = 0; d < D; d++) x[r * D + d] = tok[id * D + d] + pos[t * D + d];
  }
  return x;
}

/** Backward of `embedTokens` (start 0) from dL/dx (B*T, D): adds into the two embedding gradients. */
function embedTokensBackward(c: DecoderConfig, grads: Params, ids: Int32Array, s: SeqShape, dx: Float32Array): void {
  const D = c.hiddenSize;
  const dtok = grads.get("decoder.embed_tokens.weight")!.data;
  const dpos = grads.get("decoder.embed_positions.weight")!.data;
  for (let r = 0; r < s.B * s.T; r++) {
    const id = ids[r];
    const t = r % s.T;
    for (let d = 0; d < D; d++) {
      dtok[id * D + d] += dx[r * D + d];
      dpos[t * D + d] += dx[r * D + d];
    }
  }
}

/**
 * Backward from dL/dlogits (B, T, V): adds every decoder parameter's gradient into `grads` and
 * returns dL/d(encoder tokens) (B, N, E), for training the encoder too.
 */
export function decoderBackward(be: Backend, c: DecoderConfig, params: Params, fwd: DecoderForward, dlogits: Float32Array, grads: Params): Float32Array {
  const { s, ids, memory, pass, encoded } = fwd.cache;
  const W = layerWeights(params, c.layerNormEps);
  const G = layerGrads(grads);
  const rows = s.B * s.T;
  const D = c.hiddenSize;
  const dout = new Float32Array(rows * D);
  const headIn = pass.head ? pass.head.norm.out : pass.final ? pass.final.out : pass.xOut;
  linearBackward(be, lmHead(c, params), lmHeadGrads(c, grads), { x: headIn, rows, dy: dlogits, dx: dout });
  let dtop = dout; // dL/d(what the head transform or the lm head read)
  if (pass.head) {
    const dact = new Float32Array(rows * D);
    layernormBackward(be, W.norm("decoder.head_transform.norm"), G.norm("decoder.head_transform.norm"), { x: pass.head.act, saved: pass.head.norm, dout, dx: dact, rows });
    activateBackward(be, c.activation, dact, pass.head.dense, dact, dact.length);
    dtop = new Float32Array(rows * D);
    linearBackward(be, W.linear("decoder.head_transform.dense"), G.linear("decoder.head_transform.dense"), { x: pass.final ? pass.final.out : pass.xOut, rows, dy: dact, dx: dtop });
  }
  const dx = new Float32Array(rows * D); // dL/d(stream), updated in place layer by layer
  if (pass.final) layernormBackward(be, W.norm("decoder.norm"), G.norm("decoder.norm"), { x: pass.xOut, saved: pass.final, dout: dtop, dx, rows });
  else dx.set(dtop);
  const N = memory[0]?.N ?? 0;
  const dmemory = new Float32Array(s.B * N * c.encoderHiddenSize);
  const scratch = new Scratch();
  for (let l = c.numLayers - 1; l >= 0; l--) {
    decoderLayerBackward(be, decoderLayer(W, l, c), decoderLayer(G, l, c), s, memory[l], pass.layers[l], { dx, dmemory }, scratch);
  }
  if (pass.embedNorm) {
    const dembedded = new Float32Array(rows * D);
    layernormBackward(be, W.norm("decoder.embed_norm"), G.norm("decoder.embed_norm"), { x: pass.embedded!, saved: pass.embedNorm, dout: dx, dx: dembedded, rows });
    dx.set(dembedded);
  }
  embedTokensBackward(c, grads, ids, s, dx);
  if (c.encoderProjection === undefined) return dmemory;
  const dencoded = new Float32Array(s.B * N * c.encoderProjection); // through enc_to_dec_proj: (B*N, E_encoder)
  linearBackward(be, W.linear(PROJECTION), G.linear(PROJECTION), { x: encoded, rows: s.B * N, dy: dmemory, dx: dencoded });
  return dencoded;
}
