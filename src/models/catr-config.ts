/**
 * CATR (saahiluppal/catr): a ResNet backbone, a 1x1 input projection, a DETR transformer
 * (encoder over the feature grid, decoder over caption tokens) and a 3-layer MLP head. Everything
 * but the head count and the backbone's dilation is visible in the weights' shapes.
 */
export interface CatrConfig {
  hiddenSize: number; // d_model (256)
  numHeads: number; // nheads (8): not in the checkpoint
  encoderLayers: number;
  decoderLayers: number;
  feedForward: number; // dim_feedforward (2048)
  mlpHidden: number; // the head's hidden width (512)
  vocabSize: number; // 30522 (bert-base-uncased)
  maxPositions: number; // max_position_embeddings (128): caption positions, [CLS] included
  /** normalize_before: the encoder then ends with a norm (transformer.encoder.norm). */
  preNorm: boolean;
  backboneChannels: number; // 2048 (Bottleneck ResNets), 512 (BasicBlock)
  /** layer4 dilated (output stride 16), CATR's configuration; not visible in the weights. */
  dilation: boolean;
}

/** The transformer's LayerNorms; the decoder embeddings' LayerNorm uses BERT's 1e-12. */
export const CATR_LAYER_NORM_EPS = 1e-5;
export const CATR_EMBEDDING_NORM_EPS = 1e-12;
/** CATR's configuration.py: nheads. */
export const CATR_DEFAULT_HEADS = 8;
/** bert-base-uncased's [CLS] and [SEP]: where a caption starts and ends (predict.py). */
export const CATR_START_TOKEN = 101;
export const CATR_END_TOKEN = 102;

/** CATR's configuration.py with ResNet-101 (the released v1/v2/v3 weights' shapes). */
export const CATR_PRESET_CONFIG: CatrConfig = {
  hiddenSize: 256, numHeads: 8, encoderLayers: 6, decoderLayers: 6, feedForward: 2048, mlpHidden: 512,
  vocabSize: 30522, maxPositions: 128, preNorm: true, backboneChannels: 2048, dilation: true,
};

const mha = (p: string, D: number): Array<[string, number[]]> => [
  [`${p}.in_proj_weight`, [3 * D, D]], [`${p}.in_proj_bias`, [3 * D]], [`${p}.out_proj.weight`, [D, D]], [`${p}.out_proj.bias`, [D]],
];
const norm = (p: string, D: number): Array<[string, number[]]> => [[`${p}.weight`, [D]], [`${p}.bias`, [D]]];
const lin = (p: string, out: number, inp: number): Array<[string, number[]]> => [[`${p}.weight`, [out, inp]], [`${p}.bias`, [out]]];

/** Every non-backbone tensor of a CATR state dict with its shape, in PyTorch's registration order. */
export function catrParameterShapes(c: CatrConfig): Array<[string, number[]]> {
  const D = c.hiddenSize;
  const F = c.feedForward;
  const out: Array<[string, number[]]> = [["input_proj.weight", [D, c.backboneChannels, 1, 1]], ["input_proj.bias", [D]]];
  for (let l = 0; l < c.encoderLayers; l++) {
    const p = `transformer.encoder.layers.${l}`;
    out.push(...mha(`${p}.self_attn`, D), ...lin(`${p}.linear1`, F, D), ...lin(`${p}.linear2`, D, F), ...norm(`${p}.norm1`, D), ...norm(`${p}.norm2`, D));
  }
  if (c.preNorm) out.push(...norm("transformer.encoder.norm", D));
  out.push(
    ["transformer.embeddings.word_embeddings.weight", [c.vocabSize, D]],
    ["transformer.embeddings.position_embeddings.weight", [c.maxPositions, D]],
    ...norm("transformer.embeddings.LayerNorm", D),
  );
  for (let l = 0; l < c.decoderLayers; l++) {
    const p = `transformer.decoder.layers.${l}`;
    out.push(
      ...mha(`${p}.self_attn`, D), ...mha(`${p}.multihead_attn`, D), ...lin(`${p}.linear1`, F, D), ...lin(`${p}.linear2`, D, F),
      ...norm(`${p}.norm1`, D), ...norm(`${p}.norm2`, D), ...norm(`${p}.norm3`, D),
    );
  }
  out.push(...norm("transformer.decoder.norm", D), ...lin("mlp.layers.0", c.mlpHidden, D), ...lin("mlp.layers.1", c.mlpHidden, c.mlpHidden), ...lin("mlp.layers.2", c.vocabSize, c.mlpHidden));
  return out;
}
