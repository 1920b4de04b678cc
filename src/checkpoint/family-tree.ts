import { VitlensError } from "../errors.js";
import { lukemelasModuleTree } from "../models/module-tree.js";
import { hfFamilyTree, timmFamilyTree, torchEncoderTree, vitPytorchTree, type FamilyTree } from "../models/module-tree-families.js";
import type { ViTConfig } from "../models/vit-config.js";
import type { LoadedModel } from "./load.js";
import { hfFamilyFor } from "./save-hf.js";

/* A loaded model's print(model) tree in its own family's naming (inspect, the report), or in another layout's. */

const LAYOUTS = ["hf", "timm", "lukemelas", "vit-pytorch", "torch-encoder"];

export function ownLayout(format: LoadedModel["format"]): string {
  return format === "hf" || format === "lukemelas" || format === "vit-pytorch" || format === "torch-encoder" ? format : "timm";
}

/** The module tree in `layout`'s naming, or a one-line refusal when that library has no such model. */
export function familyTree(loaded: LoadedModel, layout = ownLayout(loaded.format)): FamilyTree {
  const c = loaded.model.config;
  if (!LAYOUTS.includes(layout)) throw new VitlensError(`--layout ${layout}: expected ${LAYOUTS.join(", ")}`);
  if (layout === "timm") return timmFamilyTree(c);
  if (layout === "vit-pytorch") return vitPytorchTree(c);
  if (layout === "torch-encoder") return torchEncoderTree(c);
  if (layout === "lukemelas") {
    if (!isPlainViT(c)) throw new VitlensError(`--layout lukemelas: PyTorch-Pretrained-ViT has no ${loaded.family} model`);
    return { tree: lukemelasModuleTree(c), offset: 0, notes: [] };
  }
  if (loaded.hfType) return hfFamilyTree(c, loaded.hfType === "clip" && c.numClasses === 0 ? "clip_vision_model" : loaded.hfType);
  const hf = hfFamilyFor(c);
  if ("reason" in hf) throw new VitlensError(`--layout hf: ${hf.reason}`);
  return hfFamilyTree(c, hf.family);
}

function isPlainViT(c: ViTConfig): boolean {
  const f = hfFamilyFor(c);
  return "family" in f && f.family === "vit";
}

