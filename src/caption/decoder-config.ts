import { VitlensError } from "../errors.js";
import { initParameter } from "../models/vit-params.js";
import type { Params } from "../tensor.js";
import { Rng } from "../random.js";
import type { Activation } from "../nn/mlp.js";

/** The caption decoder: a Transformer decoder over the encoder's tokens (pre-norm, or BERT's post-norm). */
export interface DecoderConfig {
  vocabSize: number;
  maxLength: number; // positions, <bos> included
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  mlpSize: number;
  /** The encoder's width: cross-attention keys and values are projected from it, so any encoder fits. */
  encoderHiddenSize: number;
  /** The output projection reuses the token embedding (V, D). */
  tieEmbeddings: boolean;
  layerNormEps: number;
  /** The MLP's activation ("gelu" when omitted; GPT-2: "gelu_tanh"). */
  activation?: Activation;
  /** Whether the output projection has a bias (true when omitted; GPT-2's lm_head has none). */
  lmHeadBias?: boolean;
  /**
   * HF's enc_to_dec_proj: the encoder's width when a linear layer maps its tokens to the decoder's
   * width first (encoderHiddenSize is then the decoder's own width). Absent: no projection.
   */
  encoderProjection?: number;
  /** Where the norms sit: "pre" (a final norm after the last layer; vitlens', GPT-2) or BERT's "post" (none after it). */
  norm?: "pre" | "post";
  /** A LayerNorm on the token + position embeddings (BERT's embeddings.LayerNorm). */
  embeddingNorm?: boolean;
  /** BERT's prediction-head transform before the output projection: dense (D -> D), the activation, LayerNorm. */
  headTransform?: boolean;
}

export function validateDecoderConfig(c: DecoderConfig, where: string): DecoderConfig {
  const ints: Array<keyof DecoderConfig> = ["vocabSize", "maxLength", "hiddenSize", "numLayers", "numHeads", "mlpSize", "encoderHiddenSize"];
  for (const k of ints) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) <= 0) throw new VitlensError(`${where}: decoder ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (c.hiddenSize % c.numHeads !== 0) throw new VitlensError(`${where}: decoder hidden size ${c.hiddenSize} is not divisible by its ${c.numHeads} heads`);
  if (c.vocabSize < 5) throw new VitlensError(`${where}: a vocabulary of ${c.vocabSize} tokens has no words besides <pad> <bos> <eos> <unk>`);
  return c;
}

/** Parameter names and shapes (PyTorch (out, in) weights), in a fixed order. */
export function decoderParameterShapes(c: DecoderConfig): Array<[string, number[]]> {
  const { vocabSize: V, maxLength: L, hiddenSize: D, mlpSize: M, encoderHiddenSize: E } = c;
  const out: Array<[string, number[]]> = [["decoder.embed_tokens.weight", [V, D]], ["decoder.embed_positions.weight", [L, D]]];
  const linear = (name: string, o: number, i: number) => out.push([`${name}.weight`, [o, i]], [`${name}.bias`, [o]]);
  const norm = (name: string) => out.push([`${name}.weight`, [D]], [`${name}.bias`, [D]]);
  if (c.embeddingNorm) norm("decoder.embed_norm");
  for (let l = 0; l < c.numLayers; l++) {
    const k = `decoder.layers.${l}`;
    norm(`${k}.norm1`);
    linear(`${k}.self_attn.qkv`, 3 * D, D);
    linear(`${k}.self_attn.proj`, D, D);
    norm(`${k}.norm2`);
    linear(`${k}.cross_attn.q`, D, D);
    linear(`${k}.cross_attn.kv`, 2 * D, E);
    linear(`${k}.cross_attn.proj`, D, D);
    norm(`${k}.norm3`);
    linear(`${k}.mlp.fc1`, M, D);
    linear(`${k}.mlp.fc2`, D, M);
  }
  if ((c.norm ?? "pre") === "pre") norm("decoder.norm");
  if (c.headTransform) {
    linear("decoder.head_transform.dense", D, D);
    norm("decoder.head_transform.norm");
  }
  if (!c.tieEmbeddings) out.push(["decoder.lm_head.weight", [V, D]]);
  if (c.lmHeadBias !== false) out.push(["decoder.lm_head.bias", [V]]);
  if (c.encoderProjection !== undefined) linear("decoder.enc_to_dec_proj", E, c.encoderProjection);
  return out;
}

export function initDecoderParams(c: DecoderConfig, seed: number): Params {
  const rng = new Rng(seed);
  return new Map(decoderParameterShapes(c).map(([name, shape]) => [name, initParameter(name, shape, rng)]));
}
