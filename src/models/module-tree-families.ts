import { HF_ACTIVATION_MODULE, TIMM_ACTIVATION_MODULE } from "../nn/activation.js";
import { relativeTableShape } from "./vit-params.js";
import { attentionSize, gridSize, headInputSize, posEmbedPrefix, type ViTConfig } from "./vit-config.js";
import { pyFloat, type ModuleNode } from "./module-tree.js";

/*
 * print(model) of each family in its own library's naming (timm's VisionTransformer and
 * VisionTransformerDistilled, HF's ViT / ViT-MSN / DeiT / DINOv2 / BEiT / Data2Vec-vision / CLIP
 * vision classes, vit-pytorch's ViT, an nn.TransformerEncoder ViT), built from a vitlens config.
 * `offset`: parameters the library's module has that vitlens does not keep (CLIPForImageClassification's
 * unused post_layernorm), negative for what vitlens keeps and the library does not (BEiT's zero
 * key bias, inside vitlens' fused qkv bias).
 */
export interface FamilyTree {
  tree: ModuleNode;
  offset: number;
  notes: string[];
}

const node = (type: string, args?: string, children: Array<[string, ModuleNode]> = [], numParams = 0, ownNames?: string): ModuleNode => ({ type, args, children, numParams, ownNames });
const linear = (i: number, o: number, bias = true) => node("Linear", `in_features=${i}, out_features=${o}, bias=${bias ? "True" : "False"}`, [], i * o + (bias ? o : 0));
const layerNorm = (d: number, eps: number) => node("LayerNorm", `(${d},), eps=${pyFloat(eps)}, elementwise_affine=True`, [], 2 * d);
const dropout = (p: number) => node("Dropout", `p=${pyFloat(p)}, inplace=False`);
const identity = () => node("Identity");
const list = (n: number, child: ModuleNode, type = "ModuleList") => node(type, undefined, Array.from({ length: n }, (_, i) => [String(i), child]));
const conv = (c: ViTConfig, bias = c.patchBias ?? true) =>
  node("Conv2d", `${c.numChannels}, ${c.hiddenSize}, kernel_size=(${c.patchSize}, ${c.patchSize}), stride=(${c.patchSize}, ${c.patchSize})${bias ? "" : ", bias=False"}`, [],
    c.hiddenSize * c.numChannels * c.patchSize ** 2 + (bias ? c.hiddenSize : 0));

/** Rows of the position embedding. */
function posRows(c: ViTConfig): number {
  if ((c.posEmbedTokens ?? "all") === "none") return 0;
  const [gh, gw] = gridSize(c);
  return posEmbedPrefix(c) + gh * gw;
}

/** The prefix tokens' own parameters and their names, as the library names them. */
function tokenParams(c: ViTConfig, names: { cls: string; dist: string; reg: string; pos: string }): { count: number; names: string } {
  const D = c.hiddenSize;
  const parts: Array<[string, number]> = [];
  if (c.classToken ?? true) parts.push([names.cls, D]);
  if (c.distillationToken) parts.push([names.dist, D]);
  if (c.registerTokens) parts.push([names.reg, c.registerTokens * D]);
  if (posRows(c)) parts.push([names.pos, posRows(c) * D]);
  return { count: parts.reduce((n, [, k]) => n + k, 0), names: parts.map(([n]) => n).join(", ") };
}

const relTable = (c: ViTConfig) => relativeTableShape(c)[0] * relativeTableShape(c)[1];

/** timm's VisionTransformer (VisionTransformerDistilled with a distillation head): vitlens' own names. */
export function timmFamilyTree(c: ViTConfig): FamilyTree {
  const D = c.hiddenSize;
  const A = attentionSize(c);
  const eps = c.layerNormEps;
  const ls = () => (c.layerScale ? node("LayerScale", undefined, [], D, "gamma") : identity());
  const attn = node("Attention", undefined, [
    ["qkv", linear(D, 3 * A, c.qkvBias)], ["q_norm", identity()], ["k_norm", identity()],
    ["attn_drop", dropout(c.attentionDropout)], ["proj", linear(A, D)], ["proj_drop", dropout(c.hiddenDropout)],
  ], c.relativePositionBias === "layer" ? relTable(c) : 0, c.relativePositionBias === "layer" ? "relative_position_bias_table" : undefined);
  const block = node("Block", undefined, [
    ["norm1", layerNorm(D, eps)], ["attn", attn], ["ls1", ls()], ["drop_path1", identity()], ["norm2", layerNorm(D, eps)],
    ["mlp", node("Mlp", undefined, [
      ["fc1", linear(D, c.mlpSize)], ["act", node(...TIMM_ACTIVATION_MODULE[c.activation ?? "gelu"])], ["drop1", dropout(c.hiddenDropout)],
      ["norm", identity()], ["fc2", linear(c.mlpSize, D)], ["drop2", dropout(c.hiddenDropout)],
    ])],
    ["ls2", ls()], ["drop_path2", identity()],
  ]);
  const finalNorm = c.finalNorm ?? "tokens";
  const patch: Array<[string, ModuleNode]> = [["proj", conv(c)], ["norm", c.patchNorm ? layerNorm(D, eps) : identity()]];
  if (c.patchNorm === "in+out") patch.unshift(["norm_in", layerNorm(c.numChannels * c.patchSize ** 2, eps)]);
  const children: Array<[string, ModuleNode]> = [
    ["patch_embed", node("PatchEmbed", undefined, patch)],
    ["pos_drop", dropout(c.hiddenDropout)], ["patch_drop", identity()], ["norm_pre", c.preNorm ? layerNorm(D, eps) : identity()],
  ];
  if (c.relativePositionBias === "shared") children.push(["rel_pos_bias", node("RelativePositionBias", undefined, [], relTable(c), "relative_position_bias_table")]);
  children.push(
    ["blocks", list(c.numLayers, block, "Sequential")],
    ["norm", finalNorm === "tokens" || finalNorm === "both" ? layerNorm(D, eps) : identity()],
    ["fc_norm", finalNorm === "pooled" || finalNorm === "both" ? layerNorm(headInputSize(c), eps) : identity()],
    ["head_drop", dropout(0)], ["head", c.numClasses > 0 ? linear(headInputSize(c), c.numClasses) : identity()],
  );
  if (c.distillationHead) children.push(["head_dist", linear(D, c.numClasses)]);
  const own = tokenParams(c, { cls: "cls_token", dist: "dist_token", reg: "reg_token", pos: "pos_embed" });
  return { tree: node(c.distillationHead ? "VisionTransformerDistilled" : "VisionTransformer", undefined, children, own.count, own.names), offset: 0, notes: [] };
}

/** HF's BERT-style ViT families: class names by model type. */
const HF_NAMES: Record<string, { prefix: string; attr: string }> = {
  vit: { prefix: "ViT", attr: "vit" }, vit_msn: { prefix: "ViTMSN", attr: "vit" }, deit: { prefix: "DeiT", attr: "deit" },
  dinov2: { prefix: "Dinov2", attr: "dinov2" }, dinov2_with_registers: { prefix: "Dinov2WithRegisters", attr: "dinov2_with_registers" },
  beit: { prefix: "Beit", attr: "beit" }, "data2vec-vision": { prefix: "Data2VecVision", attr: "data2vec_vision" },
};

/** HF ViT, ViT-MSN, DeiT, DINOv2 (+ registers), BEiT, Data2Vec-vision. */
export function hfFamilyTree(c: ViTConfig, type: string): FamilyTree {
  if (type === "clip" || type === "clip_vision_model") return clipTree(c);
  const { prefix: P, attr } = HF_NAMES[type] ?? HF_NAMES.vit;
  const D = c.hiddenSize;
  const eps = c.layerNormEps;
  const dinov2 = type.startsWith("dinov2"); // (its mask_token, for masked image modelling only, is not kept)
  const beit = type === "beit" || type === "data2vec-vision";
  const act = node(HF_ACTIVATION_MODULE[c.activation ?? "gelu"]);
  const relBias = (n: number) => node(`${P}RelativePositionBias`, undefined, [], n, "relative_position_bias_table");
  const selfAttn = node(`${P}SelfAttention`, undefined, [
    ["query", linear(D, D, c.qkvBias)], ["key", linear(D, D, c.qkvBias && c.keyBias !== false)], ["value", linear(D, D, c.qkvBias)], ["dropout", dropout(c.attentionDropout)],
    ...(c.relativePositionBias === "layer" ? [["relative_position_bias", relBias(relTable(c))] as [string, ModuleNode]] : []),
  ]);
  const attention = node(`${P}Attention`, undefined, [
    ["attention", selfAttn], ["output", node(`${P}SelfOutput`, undefined, [["dense", linear(D, D)], ["dropout", dropout(c.hiddenDropout)]])],
  ]);
  const layerScale = () => node(`${P}LayerScale`, undefined, [], D, "lambda1");
  const layer = dinov2
    ? node(`${P}Layer`, undefined, [
      ["norm1", layerNorm(D, eps)], ["attention", attention], ["layer_scale1", layerScale()], ["drop_path", identity()], ["norm2", layerNorm(D, eps)],
      ["mlp", node(`${P}MLP`, undefined, [["fc1", linear(D, c.mlpSize)], ["activation", act], ["fc2", linear(c.mlpSize, D)]])], ["layer_scale2", layerScale()],
    ])
    : node(`${P}Layer`, undefined, [
      ["attention", attention],
      ["intermediate", node(`${P}Intermediate`, undefined, [["dense", linear(D, c.mlpSize)], ["intermediate_act_fn", act]])],
      ["output", node(`${P}Output`, undefined, [["dense", linear(c.mlpSize, D)], ["dropout", dropout(c.hiddenDropout)]])],
      ["layernorm_before", layerNorm(D, eps)], ...(beit ? [["drop_path", identity()] as [string, ModuleNode]] : []), ["layernorm_after", layerNorm(D, eps)],
    ], c.layerScale ? 2 * D : 0, c.layerScale ? "lambda_1, lambda_2" : undefined);
  const own = tokenParams(c, { cls: "cls_token", dist: "distillation_token", reg: "register_tokens", pos: "position_embeddings" });
  const encoder: Array<[string, ModuleNode]> = [["layer", list(c.numLayers, layer)]];
  if (c.relativePositionBias === "shared") encoder.unshift(["relative_position_bias", relBias(relTable(c))]);
  const finalNorm = c.finalNorm ?? "tokens";
  const model: Array<[string, ModuleNode]> = [
    ["embeddings", node(`${P}Embeddings`, undefined, [["patch_embeddings", node(`${P}PatchEmbeddings`, undefined, [["projection", conv(c)]])], ["dropout", dropout(c.hiddenDropout)]], own.count, own.names)],
    ["encoder", node(`${P}Encoder`, undefined, encoder)],
    ["layernorm", finalNorm === "tokens" ? layerNorm(D, eps) : identity()],
  ];
  if (beit && finalNorm === "pooled") model.push(["pooler", node(`${P}Pooler`, undefined, [["layernorm", layerNorm(D, eps)]])]);
  const notes: string[] = [];
  const offset = c.keyBias === false ? -c.numLayers * D : 0;
  if (offset) notes.push("vitlens keeps BEiT's zero key bias inside its fused qkv bias; transformers has none");
  const backbone = node(`${P}Model`, undefined, model);
  if (c.numClasses === 0) return { tree: backbone, offset, notes };
  const heads: Array<[string, ModuleNode]> = c.distillationHead
    ? [["cls_classifier", linear(D, c.numClasses)], ["distillation_classifier", linear(D, c.numClasses)]]
    : [["classifier", linear(headInputSize(c), c.numClasses)]];
  return { tree: node(`${P}ForImageClassification${c.distillationHead ? "WithTeacher" : ""}`, undefined, [[attr, backbone], ...heads]), offset, notes };
}

/** HF CLIPVisionModel / CLIPForImageClassification. */
function clipTree(c: ViTConfig): FamilyTree {
  const D = c.hiddenSize;
  const eps = c.layerNormEps;
  const [gh, gw] = gridSize(c);
  const layer = node("CLIPEncoderLayer", undefined, [
    ["self_attn", node("CLIPAttention", undefined, [["k_proj", linear(D, D)], ["v_proj", linear(D, D)], ["q_proj", linear(D, D)], ["out_proj", linear(D, D)]])],
    ["layer_norm1", layerNorm(D, eps)],
    ["mlp", node("CLIPMLP", undefined, [["activation_fn", node(HF_ACTIVATION_MODULE[c.activation ?? "quick_gelu"])], ["fc1", linear(D, c.mlpSize)], ["fc2", linear(c.mlpSize, D)]])],
    ["layer_norm2", layerNorm(D, eps)],
  ]);
  const N = 1 + gh * gw;
  const tower = node("CLIPVisionTransformer", undefined, [
    ["embeddings", node("CLIPVisionEmbeddings", undefined, [
      ["patch_embedding", conv(c, false)], ["position_embedding", node("Embedding", `${N}, ${D}`, [], N * D)],
    ], D, "class_embedding")],
    ["pre_layrnorm", layerNorm(D, eps)],
    ["encoder", node("CLIPEncoder", undefined, [["layers", list(c.numLayers, layer)]])],
    ["post_layernorm", layerNorm(D, eps)],
  ]);
  if (c.numClasses === 0) return { tree: node("CLIPVisionModel", undefined, [["vision_model", tower]]), offset: 0, notes: [] };
  return {
    tree: node("CLIPForImageClassification", undefined, [["vision_model", tower], ["classifier", linear(D, c.numClasses)]]),
    offset: 2 * D, notes: ["post_layernorm is in CLIPForImageClassification but never applied (it averages the patch tokens before it); vitlens does not keep it"],
  };
}

/** lucidrains' vit-pytorch ViT: the current layout, or the PreNorm-wrapped one of its earlier versions. */
export function vitPytorchTree(c: ViTConfig): FamilyTree {
  const D = c.hiddenSize;
  const A = attentionSize(c);
  const eps = c.layerNormEps;
  const p = c.patchSize;
  const rowLen = c.numChannels * p * p;
  const older = (c.finalNorm ?? "tokens") === "pooled"; // no transformer.norm, mlp_head = LayerNorm + Linear
  const gelu = node("GELU", "approximate='none'");
  const attention = (withNorm: boolean) => node("Attention", undefined, [
    ...(withNorm ? [["norm", layerNorm(D, eps)] as [string, ModuleNode]] : []),
    ["attend", node("Softmax", "dim=-1")], ["dropout", dropout(c.attentionDropout)], ["to_qkv", linear(D, 3 * A, c.qkvBias)],
    ["to_out", node("Sequential", undefined, [["0", linear(A, D)], ["1", dropout(c.hiddenDropout)]])],
  ]);
  const ff = (withNorm: boolean) => node("FeedForward", undefined, [["net", node("Sequential", undefined, [
    ...(withNorm ? [["0", layerNorm(D, eps)] as [string, ModuleNode]] : []),
    ...([linear(D, c.mlpSize), gelu, dropout(c.hiddenDropout), linear(c.mlpSize, D), dropout(c.hiddenDropout)].map((m, i) => [String(i + (withNorm ? 1 : 0)), m]) as Array<[string, ModuleNode]>),
  ])]]);
  const preNorm = (fn: ModuleNode) => node("PreNorm", undefined, [["norm", layerNorm(D, eps)], ["fn", fn]]);
  const layer = node("ModuleList", undefined, older
    ? [["0", preNorm(attention(false))], ["1", preNorm(ff(false))]]
    : [["0", attention(true)], ["1", ff(true)]]);
  const transformer: Array<[string, ModuleNode]> = [["layers", list(c.numLayers, layer)]];
  if (!older) transformer.unshift(["norm", layerNorm(D, eps)]);
  const rearrange = node("Rearrange", `'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=${p}, p2=${p}`);
  const patch = c.patchNorm === "in+out"
    ? node("Sequential", undefined, [["0", rearrange], ["1", layerNorm(rowLen, eps)], ["2", linear(rowLen, D)], ["3", layerNorm(D, eps)]])
    : node("Sequential", undefined, [["0", rearrange], ["1", linear(rowLen, D)]]);
  const head = older ? node("Sequential", undefined, [["0", layerNorm(D, eps)], ["1", linear(D, c.numClasses)]]) : linear(D, c.numClasses);
  const own = tokenParams(c, { cls: "cls_token", dist: "dist_token", reg: "reg_token", pos: "pos_embedding" });
  return {
    tree: node("ViT", undefined, [
      ["to_patch_embedding", patch], ["dropout", dropout(c.hiddenDropout)],
      ["transformer", node("Transformer", undefined, transformer)], ["to_latent", identity()], ...(c.numClasses > 0 ? [["mlp_head", head] as [string, ModuleNode]] : []),
    ], own.count, own.names),
    offset: 0, notes: [],
  };
}

/** A ViT around torch.nn.TransformerEncoder (vitlens' names outside the encoder: the file's own vary). */
export function torchEncoderTree(c: ViTConfig): FamilyTree {
  const D = c.hiddenSize;
  const eps = c.layerNormEps;
  const layer = node("TransformerEncoderLayer", undefined, [
    ["self_attn", node("MultiheadAttention", undefined, [["out_proj", node("NonDynamicallyQuantizableLinear", `in_features=${D}, out_features=${D}, bias=True`, [], D * D + D)]], 3 * D * D + (c.qkvBias ? 3 * D : 0), "in_proj_weight, in_proj_bias")],
    ["linear1", linear(D, c.mlpSize)], ["dropout", dropout(c.hiddenDropout)], ["linear2", linear(c.mlpSize, D)],
    ["norm1", layerNorm(D, eps)], ["norm2", layerNorm(D, eps)], ["dropout1", dropout(c.hiddenDropout)], ["dropout2", dropout(c.hiddenDropout)],
  ]);
  const finalNorm = c.finalNorm ?? "tokens";
  const encoder: Array<[string, ModuleNode]> = [["layers", list(c.numLayers, layer)]];
  if (finalNorm === "tokens" || finalNorm === "both") encoder.push(["norm", layerNorm(D, eps)]);
  const head = finalNorm === "pooled" || finalNorm === "both" ? node("Sequential", undefined, [["0", layerNorm(D, eps)], ["1", linear(D, c.numClasses)]]) : linear(D, c.numClasses);
  const own = tokenParams(c, { cls: "cls_token", dist: "dist_token", reg: "reg_token", pos: "pos_embed" });
  return {
    tree: node("ViT", undefined, [
      ["patch_embed", node("PatchEmbed", undefined, [["proj", conv(c)]])],
      ["transformer", node("TransformerEncoder", undefined, encoder)], ...(c.numClasses > 0 ? [["head", head] as [string, ModuleNode]] : []),
    ], own.count, own.names),
    offset: 0, notes: [`TransformerEncoderLayer(norm_first=${c.norm === "pre" ? "True" : "False"}, activation=${c.activation ?? "gelu"}); the module names outside the encoder are vitlens' (the file's own vary)`],
  };
}
