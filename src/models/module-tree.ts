import type { ViTConfig } from "./vit-config.js";
import { HF_ACTIVATION_MODULE, TIMM_ACTIVATION_MODULE } from "../nn/activation.js";

/** A node of a PyTorch-style module tree: what `print(model)` shows, plus parameter counts. */
export interface ModuleNode {
  type: string; // "Linear", "ViTLayer", ...
  args?: string; // "in_features=768, out_features=768, bias=True"
  children: Array<[string, ModuleNode]>;
  numParams: number; // own parameters (nn.Parameter directly on the module), not children's
  ownNames?: string; // their names, e.g. "cls_token, pos_embed"
}

const node = (type: string, args?: string, children: Array<[string, ModuleNode]> = [], numParams = 0, ownNames?: string): ModuleNode => ({ type, args, children, numParams, ownNames });

/** Python's repr of a float, as PyTorch prints eps and p: 1e-06, 1e-12, 0.0, 0.1. */
export function pyFloat(x: number): string {
  if (x === 0) return "0.0";
  if (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e16) {
    const [mant, exp] = x.toExponential().split("e");
    const e = Number(exp);
    return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

const linear = (i: number, o: number, bias = true) => node("Linear", `in_features=${i}, out_features=${o}, bias=${bias ? "True" : "False"}`, [], i * o + (bias ? o : 0));
const layerNorm = (d: number, eps: number) => node("LayerNorm", `(${d},), eps=${pyFloat(eps)}, elementwise_affine=True`, [], 2 * d);
const dropout = (p: number) => node("Dropout", `p=${pyFloat(p)}, inplace=False`);
const conv = (c: ViTConfig) =>
  node("Conv2d", `${c.numChannels}, ${c.hiddenSize}, kernel_size=(${c.patchSize}, ${c.patchSize}), stride=(${c.patchSize}, ${c.patchSize})`, [],
    c.hiddenSize * c.numChannels * c.patchSize ** 2 + c.hiddenSize);
const tokens = (c: ViTConfig) => c.hiddenSize * (1 + (c.imageSize[0] / c.patchSize) * (c.imageSize[1] / c.patchSize)) + c.hiddenSize;

/** HF transformers' ViTForImageClassification (or bare ViTModel when there is no head). */
export function hfModuleTree(c: ViTConfig): ModuleNode {
  const D = c.hiddenSize;
  const layer = node("ViTLayer", undefined, [
    ["attention", node("ViTAttention", undefined, [
      ["attention", node("ViTSelfAttention", undefined, [
        ["query", linear(D, D, c.qkvBias)], ["key", linear(D, D, c.qkvBias)], ["value", linear(D, D, c.qkvBias)], ["dropout", dropout(c.attentionDropout)],
      ])],
      ["output", node("ViTSelfOutput", undefined, [["dense", linear(D, D)], ["dropout", dropout(c.hiddenDropout)]])],
    ])],
    ["intermediate", node("ViTIntermediate", undefined, [["dense", linear(D, c.mlpSize)], ["intermediate_act_fn", node(HF_ACTIVATION_MODULE[c.activation ?? "gelu"])]])],
    ["output", node("ViTOutput", undefined, [["dense", linear(c.mlpSize, D)], ["dropout", dropout(c.hiddenDropout)]])],
    ["layernorm_before", layerNorm(D, c.layerNormEps)],
    ["layernorm_after", layerNorm(D, c.layerNormEps)],
  ]);
  const vit = node("ViTModel", undefined, [
    ["embeddings", node("ViTEmbeddings", undefined, [
      ["patch_embeddings", node("ViTPatchEmbeddings", undefined, [["projection", conv(c)]])],
      ["dropout", dropout(c.hiddenDropout)],
    ], tokens(c), "cls_token, position_embeddings")],
    ["encoder", node("ViTEncoder", undefined, [["layer", node("ModuleList", undefined, Array.from({ length: c.numLayers }, (_, i) => [String(i), layer]))]])],
    ["layernorm", layerNorm(D, c.layerNormEps)],
  ]);
  if (c.numClasses === 0) return vit;
  return node("ViTForImageClassification", undefined, [["vit", vit], ["classifier", linear(D, c.numClasses)]]);
}

/** timm's VisionTransformer (the layout vitlens computes in). */
export function timmModuleTree(c: ViTConfig): ModuleNode {
  const D = c.hiddenSize;
  const identity = node("Identity");
  const block = node("Block", undefined, [
    ["norm1", layerNorm(D, c.layerNormEps)],
    ["attn", node("Attention", undefined, [
      ["qkv", linear(D, 3 * D, c.qkvBias)], ["q_norm", identity], ["k_norm", identity],
      ["attn_drop", dropout(c.attentionDropout)], ["proj", linear(D, D)], ["proj_drop", dropout(c.hiddenDropout)],
    ])],
    ["ls1", identity], ["drop_path1", identity],
    ["norm2", layerNorm(D, c.layerNormEps)],
    ["mlp", node("Mlp", undefined, [
      ["fc1", linear(D, c.mlpSize)], ["act", node(...TIMM_ACTIVATION_MODULE[c.activation ?? "gelu"])], ["drop1", dropout(c.hiddenDropout)],
      ["norm", identity], ["fc2", linear(c.mlpSize, D)], ["drop2", dropout(c.hiddenDropout)],
    ])],
    ["ls2", identity], ["drop_path2", identity],
  ]);
  return node("VisionTransformer", undefined, [
    ["patch_embed", node("PatchEmbed", undefined, [["proj", conv(c)], ["norm", identity]])],
    ["pos_drop", dropout(c.hiddenDropout)], ["patch_drop", identity], ["norm_pre", identity],
    ["blocks", node("Sequential", undefined, Array.from({ length: c.numLayers }, (_, i) => [String(i), block]))],
    ["norm", layerNorm(D, c.layerNormEps)], ["fc_norm", identity], ["head_drop", dropout(0)],
    ["head", c.numClasses > 0 ? linear(D, c.numClasses) : identity],
  ], tokens(c), "cls_token, pos_embed");
}

/** PyTorch-Pretrained-ViT's `dropout_rate` in all its configs (and its constructor's default). */
export const LUKEMELAS_DROPOUT_RATE = 0.1;

/**
 * PyTorch-Pretrained-ViT's (lukemelas) ViT, as its model.py and transformer.py build it with
 * classifier "token", 1-D positional embedding and no pre-logits layer (load_repr_layer=False,
 * the library's default). Its dropouts all take the library's `dropout_rate` (0.1 in every one
 * of its configs; a .pth does not record it): the attention's `drop` too, since the library
 * passes dropout_rate there and ignores attention_dropout_rate. LayerNorm eps is the model's
 * (the library fixes 1e-6, which is what loading its .pth files sets).
 */
export function lukemelasModuleTree(c: ViTConfig, { dropoutRate = LUKEMELAS_DROPOUT_RATE } = {}): ModuleNode {
  const D = c.hiddenSize;
  const block = node("Block", undefined, [
    ["attn", node("MultiHeadedSelfAttention", undefined, [
      ["proj_q", linear(D, D, c.qkvBias)], ["proj_k", linear(D, D, c.qkvBias)], ["proj_v", linear(D, D, c.qkvBias)], ["drop", dropout(dropoutRate)],
    ])],
    ["proj", linear(D, D)],
    ["norm1", layerNorm(D, c.layerNormEps)],
    ["pwff", node("PositionWiseFeedForward", undefined, [["fc1", linear(D, c.mlpSize)], ["fc2", linear(c.mlpSize, D)]])],
    ["norm2", layerNorm(D, c.layerNormEps)],
    ["drop", dropout(dropoutRate)],
  ]);
  const children: Array<[string, ModuleNode]> = [
    ["patch_embedding", conv(c)],
    ["positional_embedding", node("PositionalEmbedding1D", undefined, [], tokens(c) - D, "pos_embedding")],
    ["transformer", node("Transformer", undefined, [["blocks", node("ModuleList", undefined, Array.from({ length: c.numLayers }, (_, i) => [String(i), block]))]])],
    ["norm", layerNorm(D, c.layerNormEps)],
  ];
  // The library always builds fc; a vitlens model without a head has none to count.
  if (c.numClasses > 0) children.push(["fc", linear(D, c.numClasses)]);
  return node("ViT", undefined, children, D, "class_token");
}

export function totalParams(m: ModuleNode): number {
  return m.numParams + m.children.reduce((n, [, child]) => n + totalParams(child), 0);
}

export interface FormatOptions {
  /** Every numbered child on its own lines, as PyTorch before 2.0 prints them (default: folded). */
  expand?: boolean;
}

/**
 * `print(model)`: one line per leaf. By default as PyTorch 2 prints a ModuleList, repeated
 * identical numbered children folded as "(0-11): 12 x ViTLayer("; with `expand`, as PyTorch 1.x
 * prints every module, "(0): ViTLayer(" ... "(11): ViTLayer(".
 */
export function formatModuleTree(m: ModuleNode, opts: FormatOptions = {}, indent = ""): string {
  if (m.children.length === 0) return `${m.type}(${m.args ?? ""})`;
  const lines = [`${m.type}(`];
  const inner = indent + "  ";
  const rendered = m.children.map(([name, child]) => [name, formatModuleTree(child, opts, inner)] as const);
  for (let i = 0; i < rendered.length; ) {
    let j = i;
    while (!opts.expand && j + 1 < rendered.length && rendered[j + 1][1] === rendered[i][1] && /^\d+$/.test(rendered[j + 1][0])) j++;
    const label = j > i ? `(${rendered[i][0]}-${rendered[j][0]}): ${j - i + 1} x ` : `(${rendered[i][0]}): `;
    lines.push(`${inner}${label}${rendered[i][1]}`);
    i = j + 1;
  }
  lines.push(`${indent})`);
  return lines.join("\n");
}

/**
 * Parameter count per module down to `depth` levels, for the table under the tree. A run of
 * identical numbered children (the blocks) shows as one "each" row, expanded once.
 */
export function parameterTable(m: ModuleNode, depth = 2, prefix = ""): Array<[string, string, number]> {
  const rows: Array<[string, string, number]> = [];
  if (m.numParams > 0 && m.ownNames) rows.push([prefix ? `${prefix}.(${m.ownNames})` : m.ownNames, "Parameter", m.numParams]);
  const numbered = m.children.length > 0 && m.children.every(([name]) => /^\d+$/.test(name));
  const [, first] = m.children[0] ?? [];
  // Numbered children of one kind and size (a model's blocks) share one row; others (an MLP's
  // layers of different widths, a ResNet stage whose first block downsamples) get a row each.
  if (numbered && m.children.every(([, c]) => c.type === first.type && totalParams(c) === totalParams(first))) {
    const label = `${prefix}.0-${m.children.length - 1}`;
    rows.push([label, `${m.children.length} x ${first.type}, each`, totalParams(first)]);
    if (depth > 1) rows.push(...parameterTable({ ...first, numParams: 0 }, depth - 1, `${prefix}.N`));
    return rows;
  }
  for (const [name, child] of m.children) {
    const path = prefix ? `${prefix}.${name}` : name;
    const count = totalParams(child);
    if (count === 0) continue;
    rows.push([path, child.type, count]);
    if (depth > 1 && child.children.length > 0) rows.push(...parameterTable({ ...child, ownNames: child.numParams ? child.ownNames : undefined }, depth - 1, path));
  }
  return rows;
}
