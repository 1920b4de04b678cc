import { Command } from "commander";
import { familyTree, ownLayout } from "../checkpoint/family-tree.js";
import { attentionSize, gridSize, numTokens, type ViTConfig } from "../models/vit-config.js";
import { loadCliModel } from "./load-model.js";
import { writeOut } from "./stdio.js";
import { formatModuleTree, pyFloat, LUKEMELAS_DROPOUT_RATE, parameterTable, totalParams, type ModuleNode } from "../models/module-tree.js";
import { existsSync, statSync } from "node:fs";
import { catrPresetTensors } from "../caption/catr-preset.js";
import { CATR_BACKBONE_PREFIX, catrConfigFromState, isCatrStateDict, type CatrReadOptions } from "../checkpoint/keymap-catr.js";
import { readTorchFile } from "../checkpoint/torch-pickle.js";
import { catrModuleTree } from "../models/catr-module-tree.js";
import { resnetConfigFromKeys } from "../models/resnet-config.js";
import type { Tensor } from "../tensor.js";
import { describePreprocess } from "../data/preprocess-config.js";
import { MODEL_HELP, withCheckpointFlags, type CheckpointFlagValues } from "./options.js";

export function inspectCommand(): Command {
  return withCheckpointFlags(new Command("inspect"), "the model", "run at this image size")
    .description("print the model's module tree like PyTorch's print(model), with parameter counts")
    .requiredOption("--model <spec>", MODEL_HELP)
    .option("--layout <name>", "module names to print: hf (transformers' class of the family), timm, lukemelas, vit-pytorch or torch-encoder (default: the checkpoint's own)")
    .option("--keys", "print vitlens' parameter names and shapes (what a --keymap maps a checkpoint's keys onto)")
    .option("--expand", "list every block, (0) ... (11), as PyTorch before 2.0 prints (default: folded as PyTorch 2 prints a ModuleList)")
    .option("--no-dilation", "CATR: ResNet layer4 undilated (CATR's configuration dilates it)")
    .action(async (opts: { model: string; layout?: string; expand?: boolean; keys?: boolean; dilation?: boolean } & CheckpointFlagValues) => {
      const catr = catrInspection(opts.model, { heads: opts.heads, dilation: opts.dilation });
      if (catr) {
        writeOut(printTree(catr.tree, opts.expand, catr.numParameters).concat("", ...catr.notes).join("\n") + "\n");
        return;
      }
      const loaded = await loadCliModel(opts.model, opts, { shapesOnly: true }); // a preset's weights are not drawn: only shapes are printed
      const c = loaded.model.config;
      if (opts.keys) {
        const width = Math.max(...[...loaded.model.params.keys()].map((k) => k.length));
        for (const [name, t] of loaded.model.params) writeOut(`${name.padEnd(width)}  (${t.shape.join(", ")})\n`);
        return;
      }
      const layout = opts.layout ?? ownLayout(loaded.format);
      const { tree, offset, notes } = familyTree(loaded, layout);
      const out = printTree(tree, opts.expand, loaded.model.numParameters + offset);
      const [gh, gw] = gridSize(c);
      out.push(
        "",
        `source: ${loaded.source} (${loaded.family})`,
        `input: ${c.numChannels}x${c.imageSize[0]}x${c.imageSize[1]}, patch ${c.patchSize}, grid ${gh}x${gw}, ${numTokens(c)} tokens (${describeTokens(c)}), ${c.numHeads} heads of ${attentionSize(c) / c.numHeads}`,
        `blocks: ${c.norm === "post" ? "post-norm" : "pre-norm"}${c.preNorm ? " after a norm_pre" : ""}, ${c.activation ?? "gelu"}, LayerNorm eps ${pyFloat(c.layerNormEps)}${c.layerScale ? ", layer scale" : ""}${c.relativePositionBias ? `, relative position bias (${c.relativePositionBias === "shared" ? "shared" : "per layer"})` : ""}`,
        `head: ${c.numClasses ? `${c.numClasses} classes` : "none (a backbone: predict has nothing to predict; train adds a head)"}, pooling ${c.pool ?? "cls"}, final norm ${c.finalNorm ?? "tokens"}${c.distillationHead ? ", logits = mean of the CLS and distillation heads" : ""}`,
        `preprocessing (what predict, eval and train feed it):`,
        ...describePreprocess(loaded.preprocess),
        `  EXIF orientation applied (as PIL's exif_transpose); --no-exif-rotate turns it off`,
        ...[...loaded.notes, ...notes].map((n) => `note: ${n}`),
        // A .pth records no dropout: the tree shows what the library builds, not what vitlens runs.
        ...(layout === "lukemelas" ? [`note: Dropout p=${LUKEMELAS_DROPOUT_RATE} is PyTorch-Pretrained-ViT's dropout_rate; vitlens runs this model with dropout ${c.hiddenDropout}`] : []),
      );
      writeOut(out.join("\n") + "\n");
    });
}

/** The tokens before the patches, in words. */
function describeTokens(c: ViTConfig): string {
  const parts = [(c.classToken ?? true) ? "CLS" : "no CLS", c.distillationToken ? "distillation" : "", c.registerTokens ? `${c.registerTokens} registers` : ""].filter(Boolean);
  return `${parts.join(", ")} + patches; positions on ${c.posEmbedTokens ?? "all"}`;
}

/** The tree as PyTorch prints it, then the parameter table (4 levels deep) and the total, checked against the model's own count. */
function printTree(tree: ModuleNode, expand: boolean | undefined, numParameters: number): string[] {
  const out: string[] = [formatModuleTree(tree, { expand }), ""];
  const rows = parameterTable(tree, 4);
  const width = Math.max(...rows.map(([p, t]) => p.length + t.length + 3));
  out.push("Parameters");
  for (const [path, type, n] of rows) out.push(`  ${`${path} (${type})`.padEnd(width)}  ${n.toLocaleString("en-US").padStart(13)}`);
  const total = totalParams(tree);
  out.push(`  ${"total".padEnd(width)}  ${total.toLocaleString("en-US").padStart(13)}`);
  if (total !== numParameters) throw new Error(`inspect: tree counts ${total} parameters, model holds ${numParameters}`);
  return out;
}

/**
 * CATR's module tree when --model is a CATR checkpoint (or the catr preset), else null. Parameters
 * as PyTorch counts them: the frozen BatchNorms hold buffers, not parameters.
 */
function catrInspection(spec: string, o: CatrReadOptions): { tree: ModuleNode; numParameters: number; notes: string[] } | null {
  let tensors: Map<string, Tensor>;
  let source = spec;
  if (!existsSync(spec) && spec === "catr") {
    tensors = catrPresetTensors();
    source = "preset catr (random weights)";
  } else if (existsSync(spec) && statSync(spec).isFile() && /\.(pth|pt|tar)$/.test(spec)) {
    tensors = readTorchFile(spec).tensors;
    if (!isCatrStateDict(tensors.keys())) return null;
  } else {
    return null;
  }
  const config = catrConfigFromState(tensors, spec, o);
  const resnet = resnetConfigFromKeys(tensors, CATR_BACKBONE_PREFIX, { dilateLayer4: config.dilation });
  const tree = catrModuleTree(config, resnet);
  const numParameters = [...tensors].filter(([k]) => !/(bn\d|downsample\.1)\.(weight|bias|running_mean|running_var)$/.test(k)).reduce((n, [, t]) => n + t.data.length, 0);
  const depth = 2 + resnet.layers.reduce((a, b) => a + b, 0) * (resnet.block === "basic" ? 2 : 3);
  return {
    tree, numParameters, notes: [
      `source: ${source} (CATR)`,
      `backbone: ResNet-${depth} (${resnet.block} blocks [${resnet.layers.join(", ")}]), layer4 ${config.dilation ? "dilated (output stride 16)" : "undilated (output stride 32)"}, ${config.backboneChannels} channels`,
      `transformer: ${config.preNorm ? "pre-norm" : "post-norm"}, hidden ${config.hiddenSize}, ${config.encoderLayers} + ${config.decoderLayers} layers, ${config.numHeads} heads of ${config.hiddenSize / config.numHeads}, feed-forward ${config.feedForward}`,
      `captions: vocabulary ${config.vocabSize}, ${config.maxPositions} positions ([CLS] included)`,
      "input: long side 299 (PIL bicubic), mean = std = 0.5; a 299x224 image gives a 19x14 grid with layer4 dilated",
    ],
  };
}
