import { CATR_EMBEDDING_NORM_EPS, CATR_LAYER_NORM_EPS, type CatrConfig } from "./catr-config.js";
import { pyFloat, type ModuleNode } from "./module-tree.js";
import type { ResnetConfig } from "./resnet-config.js";
import { resnetModuleTree } from "./resnet-tree.js";

/** CATR's configuration.py dropout (printed by its Dropout modules; vitlens runs inference without it). */
const CATR_DROPOUT = 0.1;

const node = (type: string, args?: string, children: Array<[string, ModuleNode]> = [], numParams = 0, ownNames?: string): ModuleNode => ({ type, args, children, numParams, ownNames });
const linear = (i: number, o: number) => node("Linear", `in_features=${i}, out_features=${o}, bias=True`, [], i * o + o);
const layerNorm = (d: number, eps = CATR_LAYER_NORM_EPS) => node("LayerNorm", `(${d},), eps=${pyFloat(eps)}, elementwise_affine=True`, [], 2 * d);
const dropout = () => node("Dropout", `p=${pyFloat(CATR_DROPOUT)}, inplace=False`);
function attention(D: number): ModuleNode {
  return node("MultiheadAttention", undefined, [["out_proj", node("NonDynamicallyQuantizableLinear", `in_features=${D}, out_features=${D}, bias=True`, [], D * D + D)]],
    3 * D * D + 3 * D, "in_proj_weight, in_proj_bias");
}

/** print(model) of CATR's Caption module (PyTorch's repr), the ResNet as torchvision builds it (resnet-tree.ts). */
export function catrModuleTree(c: CatrConfig, r: ResnetConfig): ModuleNode {
  const D = c.hiddenSize;
  const F = c.feedForward;
  const encoderLayer = node("TransformerEncoderLayer", undefined, [
    ["self_attn", attention(D)], ["linear1", linear(D, F)], ["dropout", dropout()], ["linear2", linear(F, D)],
    ["norm1", layerNorm(D)], ["norm2", layerNorm(D)], ["dropout1", dropout()], ["dropout2", dropout()],
  ]);
  const decoderLayer = node("TransformerDecoderLayer", undefined, [
    ["self_attn", attention(D)], ["multihead_attn", attention(D)], ["linear1", linear(D, F)], ["dropout", dropout()], ["linear2", linear(F, D)],
    ["norm1", layerNorm(D)], ["norm2", layerNorm(D)], ["norm3", layerNorm(D)], ["dropout1", dropout()], ["dropout2", dropout()], ["dropout3", dropout()],
  ]);
  const numbered = (m: ModuleNode, n: number) => Array.from({ length: n }, (_, i): [string, ModuleNode] => [String(i), m]);
  const encoder: Array<[string, ModuleNode]> = [["layers", node("ModuleList", undefined, numbered(encoderLayer, c.encoderLayers))]];
  if (c.preNorm) encoder.push(["norm", layerNorm(D)]);
  return node("Caption", undefined, [
    ["backbone", node("Joiner", undefined, [
      ["0", node("Backbone", undefined, [["body", resnetModuleTree(r)]])],
      ["1", node("PositionEmbeddingSine")],
    ])],
    ["input_proj", node("Conv2d", `${c.backboneChannels}, ${D}, kernel_size=(1, 1), stride=(1, 1)`, [], c.backboneChannels * D + D)],
    ["transformer", node("Transformer", undefined, [
      ["encoder", node("TransformerEncoder", undefined, encoder)],
      ["embeddings", node("DecoderEmbeddings", undefined, [
        ["word_embeddings", node("Embedding", `${c.vocabSize}, ${D}, padding_idx=0`, [], c.vocabSize * D)],
        ["position_embeddings", node("Embedding", `${c.maxPositions}, ${D}`, [], c.maxPositions * D)],
        ["LayerNorm", layerNorm(D, CATR_EMBEDDING_NORM_EPS)],
        ["dropout", dropout()],
      ])],
      ["decoder", node("TransformerDecoder", undefined, [
        ["layers", node("ModuleList", undefined, numbered(decoderLayer, c.decoderLayers))],
        ["norm", layerNorm(D)],
      ])],
    ])],
    ["mlp", node("MLP", undefined, [["layers", node("ModuleList", undefined, [
      ["0", linear(D, c.mlpHidden)], ["1", linear(c.mlpHidden, c.mlpHidden)], ["2", linear(c.mlpHidden, c.vocabSize)],
    ])]])],
  ]);
}
