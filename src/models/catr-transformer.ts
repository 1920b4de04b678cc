import type { Backend } from "../backend/backend.js";
import { layernorm, type Norm } from "../nn/layernorm.js";
import { linear, type Linear } from "../nn/linear.js";
import { mhaAttend, projectHeads, type MultiheadAttention } from "../nn/multihead-attention.js";
import { reorderRows } from "../nn/reorder-rows.js";
import type { Params } from "../tensor.js";
import { CATR_EMBEDDING_NORM_EPS, CATR_LAYER_NORM_EPS, type CatrConfig } from "./catr-config.js";

/**
 * CATR's DETR transformer, inference only: an encoder over the image's feature grid and a
 * decoder run one caption position at a time with a key/value cache. Causal self-attention makes
 * position t's output depend on positions 0..t only, so the cache gives the logits CATR's own
 * loop gets by rerunning all 128 (padded) positions per token.
 */

const tensor = (p: Params, key: string): Float32Array => {
  const t = p.get(key);
  if (!t) throw new Error(`CATR weights: ${key} missing`); // the loader checked every key
  return t.data;
};
const lin = (p: Params, key: string, inF: number, outF: number): Linear => ({ weight: tensor(p, `${key}.weight`), bias: tensor(p, `${key}.bias`), inFeatures: inF, outFeatures: outF });
const norm = (p: Params, key: string, eps = CATR_LAYER_NORM_EPS): Norm => ({ weight: tensor(p, `${key}.weight`), bias: tensor(p, `${key}.bias`), eps });
function mha(p: Params, key: string, c: CatrConfig): MultiheadAttention {
  const D = c.hiddenSize;
  return { inProj: { weight: tensor(p, `${key}.in_proj_weight`), bias: tensor(p, `${key}.in_proj_bias`), inFeatures: D, outFeatures: 3 * D }, outProj: lin(p, `${key}.out_proj`, D, D), heads: c.numHeads };
}

interface FeedForward { linear1: Linear; linear2: Linear }

function encoderLayer(p: Params, l: number, c: CatrConfig) {
  const k = `transformer.encoder.layers.${l}`;
  return { attn: mha(p, `${k}.self_attn`, c), ff: feedForward(p, k, c), norm1: norm(p, `${k}.norm1`), norm2: norm(p, `${k}.norm2`) };
}

function decoderLayer(p: Params, l: number, c: CatrConfig) {
  const k = `transformer.decoder.layers.${l}`;
  return {
    self: mha(p, `${k}.self_attn`, c), cross: mha(p, `${k}.multihead_attn`, c), ff: feedForward(p, k, c),
    norm1: norm(p, `${k}.norm1`), norm2: norm(p, `${k}.norm2`), norm3: norm(p, `${k}.norm3`),
  };
}

function feedForward(p: Params, k: string, c: CatrConfig): FeedForward {
  return { linear1: lin(p, `${k}.linear1`, c.hiddenSize, c.feedForward), linear2: lin(p, `${k}.linear2`, c.feedForward, c.hiddenSize) };
}

/** linear2(relu(linear1(x))), added into `into` (the residual stream) when given. */
function feedForwardForward(be: Backend, w: FeedForward, x: Float32Array, rows: number, into?: Float32Array): Float32Array {
  const h = linear(be, w.linear1, x, rows, { relu: true }); // (rows, F), ReLU as the product's post-op
  return linear(be, w.linear2, h, rows, into ? { out: into, accumulate: true } : {}); // (rows, D)
}

function plus(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

function addInto(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

const layernormed = (be: Backend, n: Norm, x: Float32Array, rows: number) => layernorm(be, n, x, rows).out;

/**
 * The feed-forward sublayer, right after an attention sublayer added its output into x (rows, D):
 * pre-norm x += ff(after(x)); post-norm (DETR's normalize_before false) first closes the attention
 * sublayer with its own norm `before`, then x = after(x + ff(x)).
 */
function feedForwardSublayer(be: Backend, preNorm: boolean, w: { ff: FeedForward; before: Norm; after: Norm }, x: Float32Array, rows: number): void {
  if (preNorm) {
    feedForwardForward(be, w.ff, layernormed(be, w.after, x, rows), rows, x);
    return;
  }
  x.set(layernormed(be, w.before, x, rows));
  feedForwardForward(be, w.ff, x, rows, x);
  x.set(layernormed(be, w.after, x, rows));
}

export interface EncoderInput {
  src: Float32Array; // (B, N, D) projected features, token-major
  pos: Float32Array; // (B, N, D) sine position encoding
  mask: Uint8Array | null; // (B, N) nonzero = padding
  B: number;
  N: number;
}

/**
 * The encoder: self-attention over the grid with the position encoding added to queries and keys
 * (not values), padded cells masked as keys; pre-norm ends with transformer.encoder.norm.
 * Returns the memory (B, N, D).
 */
export function catrEncoderForward(be: Backend, c: CatrConfig, p: Params, e: EncoderInput): Float32Array {
  const { B, N } = e;
  const rows = B * N;
  const x = e.src.slice(); // the residual stream (B*N, D)
  for (let l = 0; l < c.encoderLayers; l++) {
    const w = encoderLayer(p, l, c);
    const input = c.preNorm ? layernormed(be, w.norm1, x, rows) : x;
    const qk = projectHeads(be, w.attn, plus(input, e.pos), B, N, 0, 2); // (2, B, H, N, hd)
    const v = projectHeads(be, w.attn, input, B, N, 2); // (B, H, N, hd)
    const half = qk.length / 2;
    const { out } = mhaAttend(be, w.attn, { q: qk.subarray(0, half), k: qk.subarray(half), v }, { B, Tq: N, Tk: N, keyPadding: e.mask });
    addInto(x, out);
    feedForwardSublayer(be, c.preNorm, { ff: w.ff, before: w.norm1, after: w.norm2 }, x, rows);
  }
  return c.preNorm ? layernormed(be, norm(p, "transformer.encoder.norm"), x, rows) : x;
}

export interface DecoderMemory {
  memory: Float32Array; // (B, N, D) the encoder's output
  pos: Float32Array; // (B, N, D)
  mask: Uint8Array | null; // (B, N)
  B: number;
  N: number;
}

export interface DecoderStep {
  logits: Float32Array; // (R, V)
  /** Per decoder layer: the cross-attention of each row (R, H, N). */
  cross: Float32Array[];
}

/**
 * The decoder of R caption rows, row r reading image `images[r]` of the memory: its cross-attention
 * keys (memory + pos) and values (memory) are projected once per layer, and each step appends
 * one position per row to the self-attention cache (R, H, capacity, hd).
 */
export class CatrDecoderState {
  private readonly crossKV: Array<{ k: Float32Array; v: Float32Array }>;
  private readonly selfKV: Array<{ k: Float32Array; v: Float32Array }>;
  private readonly rowMask: Uint8Array | null; // (sources, N): one row when the rows share one image
  private readonly oneImage: boolean;
  private readonly N: number;
  readonly rows: number;

  constructor(private be: Backend, private c: CatrConfig, private p: Params, m: DecoderMemory, images: number[], readonly capacity: number) {
    const { N, B } = m;
    const D = c.hiddenSize;
    const R = images.length;
    this.rows = R;
    const keysIn = plus(m.memory, m.pos);
    const per = N * D; // one image's heads (H, N, hd)
    // A beam search's rows all read one image: its keys and values are kept once and the rows
    // attend to them as one (R, hd) block per head. Rows of different images get their own copy.
    this.oneImage = R > 1 && images.every((b) => b === images[0]);
    const sources = this.oneImage ? [images[0]] : images;
    this.crossKV = Array.from({ length: c.decoderLayers }, (_, l) => {
      const w = mha(p, `transformer.decoder.layers.${l}.multihead_attn`, c);
      const k = projectHeads(be, w, keysIn, B, N, 1); // (B, H, N, hd)
      const v = projectHeads(be, w, m.memory, B, N, 2);
      // (B, ...) -> one block per source row
      const rk = new Float32Array(sources.length * per);
      const rv = new Float32Array(sources.length * per);
      sources.forEach((b, r) => {
        rk.set(k.subarray(b * per, (b + 1) * per), r * per);
        rv.set(v.subarray(b * per, (b + 1) * per), r * per);
      });
      return { k: rk, v: rv };
    });
    this.rowMask = m.mask ? new Uint8Array(sources.length * N) : null;
    if (m.mask) sources.forEach((b, r) => this.rowMask!.set(m.mask!.subarray(b * N, (b + 1) * N), r * N));
    this.N = N;
    const size = R * D * capacity; // (R, H, capacity, hd)
    this.selfKV = Array.from({ length: c.decoderLayers }, () => ({ k: new Float32Array(size), v: new Float32Array(size) }));
  }

  /** Keeps rows `parents` (new row i continues old row parents[i]) in the self-attention cache; the rows must share one image. */
  reorder(parents: number[]): void {
    reorderRows(this.selfKV.flatMap((kv) => [kv.k, kv.v]), parents, this.rows);
  }

  /** `logits` as log-probabilities (in place). */
  step(tokens: number[], t: number): { logProbs: Float32Array; cross: Float32Array[] } {
    const { logits, cross } = this.logits(tokens, t);
    this.logSoftmax(logits);
    return { logProbs: logits, cross };
  }

  logSoftmax(rows: Float32Array): void {
    const V = this.c.vocabSize;
    this.be.logSoftmaxForward(rows, rows, rows.length / V, V);
  }

  /** Tokens (R) at position t: next-token logits (R, V) and each layer's cross-attention (R, H, N). */
  logits(tokens: number[], t: number): DecoderStep {
    const { be, c, p } = this;
    const R = this.rows;
    const D = c.hiddenSize;
    const H = c.numHeads;
    const hd = D / H;
    if (t >= this.capacity) throw new Error(`CATR decoder: position ${t} beyond the cache's ${this.capacity}`);
    const word = tensor(p, "transformer.embeddings.word_embeddings.weight");
    const position = tensor(p, "transformer.embeddings.position_embeddings.weight");
    const queryPos = new Float32Array(R * D); // query_pos: the learned position embedding again
    const x = new Float32Array(R * D);
    for (let r = 0; r < R; r++) {
      for (let d = 0; d < D; d++) {
        queryPos[r * D + d] = position[t * D + d];
        x[r * D + d] = word[tokens[r] * D + d] + position[t * D + d];
      }
    }
    x.set(layernormed(be, norm(p, "transformer.embeddings.LayerNorm", CATR_EMBEDDING_NORM_EPS), x, R));
    const cross: Float32Array[] = [];
    for (let l = 0; l < c.decoderLayers; l++) {
      const w = decoderLayer(p, l, c);
      // Self-attention: q, k from input + query_pos, v from input; this position's k, v cached.
      const input = c.preNorm ? layernormed(be, w.norm1, x, R) : x;
      const qk = projectHeads(be, w.self, plus(input, queryPos), R, 1, 0, 2); // (2, R, H, 1, hd)
      const v = projectHeads(be, w.self, input, R, 1, 2); // (R, H, 1, hd)
      const cache = this.selfKV[l];
      for (let rh = 0; rh < R * H; rh++) {
        cache.k.set(qk.subarray(R * D + rh * hd, R * D + (rh + 1) * hd), (rh * this.capacity + t) * hd);
        cache.v.set(v.subarray(rh * hd, (rh + 1) * hd), (rh * this.capacity + t) * hd);
      }
      const selfOut = mhaAttend(be, w.self, { q: qk.subarray(0, R * D), k: cache.k, v: cache.v }, { B: R, Tq: 1, Tk: this.capacity, causal: { start: t } }).out;
      addInto(x, selfOut);
      if (!c.preNorm) x.set(layernormed(be, w.norm1, x, R));
      // Cross-attention: q from input + query_pos; keys and values of the image, padding masked.
      const input2 = c.preNorm ? layernormed(be, w.norm2, x, R) : x;
      const q = projectHeads(be, w.cross, plus(input2, queryPos), R, 1, 0); // (R, H, 1, hd)
      const kv = this.crossKV[l];
      if (this.oneImage) {
        const qHeads = new Float32Array(R * D);
        be.splitHeads(q, qHeads, 1, R, 1, H, hd); // (R, H, hd) -> (1, H, R, hd)
        const att = mhaAttend(be, w.cross, { q: qHeads, k: kv.k, v: kv.v }, { B: 1, Tq: R, Tk: this.N, keyPadding: this.rowMask });
        addInto(x, att.out);
        const probs = new Float32Array(R * H * this.N);
        be.mergeHeads(att.att.probs, probs, 1, R, 1, H, this.N); // (1, H, R, N) -> (R, H, N)
        cross.push(probs);
      } else {
        const att = mhaAttend(be, w.cross, { q, k: kv.k, v: kv.v }, { B: R, Tq: 1, Tk: this.N, keyPadding: this.rowMask });
        addInto(x, att.out);
        cross.push(att.att.probs); // (R, H, 1, N)
      }
      feedForwardSublayer(be, c.preNorm, { ff: w.ff, before: w.norm2, after: w.norm3 }, x, R);
    }
    const h = layernormed(be, norm(p, "transformer.decoder.norm"), x, R);
    return { logits: catrHead(be, c, p, h, R), cross };
  }
}

/** The MLP head: hidden -> mlpHidden -> mlpHidden -> vocabulary, ReLU between. */
export function catrHead(be: Backend, c: CatrConfig, p: Params, h: Float32Array, rows: number): Float32Array {
  const a = linear(be, lin(p, "mlp.layers.0", c.hiddenSize, c.mlpHidden), h, rows, { relu: true });
  const b = linear(be, lin(p, "mlp.layers.1", c.mlpHidden, c.mlpHidden), a, rows, { relu: true });
  return linear(be, lin(p, "mlp.layers.2", c.mlpHidden, c.vocabSize), b, rows); // (rows, V)
}
