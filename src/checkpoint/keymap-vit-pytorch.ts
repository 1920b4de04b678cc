import { VitlensError } from "../errors.js";
import { shapeString, type Tensor } from "../tensor.js";
import { applyKeyRules, type KeyRules, type MappedState } from "./keymap-rules.js";

/*
 * lucidrains' vit-pytorch (vit_pytorch/vit.py) state dicts, in the layouts its versions saved:
 * - current: `to_patch_embedding.{1,2,3}` = LayerNorm(patch), Linear, LayerNorm over patches
 *   flattened as (p1 p2 c); `cls_token` with 1 token (pool 'cls') or 0 (pool 'mean': the patch
 *   mean); `transformer.layers.N.0.{norm,to_qkv,to_out.0}`, `.1.net.{0,1,4}` (LayerNorm, Linear,
 *   Linear); `transformer.norm`; a Linear `mlp_head`.
 * - older: `patch_to_embedding` (or `to_patch_embedding.1` as the only layer), PreNorm wrappers
 *   (`.0.fn.norm`, `.0.fn.fn.to_qkv`, under a Residual: one more `fn.`), FeedForward `net.{0,3}`,
 *   no final norm and `mlp_head.0` LayerNorm + `mlp_head.1` Linear; a CLS token always, and
 *   pool 'mean' averaged every token, CLS included (avg-all).
 * Blocks are pre-norm, exact GELU, LayerNorm eps 1e-5, q/k/v without bias (vit-pytorch's only choices).
 */
const LAYER = String.raw`^transformer\.layers\.(\d+)\.`;
const FN = String.raw`(?:fn\.)*`;

const RULES: KeyRules = {
  what: "a vit-pytorch checkpoint",
  renames: [
    [/^cls_token$/, "cls_token"],
    [/^pos_embedding$/, "pos_embed"],
    [/^(?:patch_to_embedding|to_patch_embedding\.patch)\.(weight|bias)$/, "patch_embed.proj.$1"],
    [/^to_patch_embedding\.norm_in\.(weight|bias)$/, "patch_embed.norm_in.$1"],
    [/^to_patch_embedding\.norm_out\.(weight|bias)$/, "patch_embed.norm.$1"],
    [new RegExp(`${LAYER}0\\.${FN}norm\\.(weight|bias)$`), "blocks.$1.norm1.$2"],
    [new RegExp(`${LAYER}0\\.${FN}to_qkv\\.(weight|bias)$`), "blocks.$1.attn.qkv.$2"],
    [new RegExp(`${LAYER}0\\.${FN}to_out\\.0\\.(weight|bias)$`), "blocks.$1.attn.proj.$2"],
    [new RegExp(`${LAYER}1\\.${FN}(?:norm|net\\.ln)\\.(weight|bias)$`), "blocks.$1.norm2.$2"],
    [new RegExp(`${LAYER}1\\.${FN}net\\.fc1\\.(weight|bias)$`), "blocks.$1.mlp.fc1.$2"],
    [new RegExp(`${LAYER}1\\.${FN}net\\.fc2\\.(weight|bias)$`), "blocks.$1.mlp.fc2.$2"],
    [/^transformer\.norm\.(weight|bias)$/, "norm.$1"],
    [/^mlp_head\.(?:1\.)?(weight|bias)$/, "head.$1"],
    [/^mlp_head\.0\.(weight|bias)$/, "fc_norm.$1"],
  ],
};

export function isVitPytorchStateDict(keys: Iterable<string>): boolean {
  const all = [...keys];
  return all.some((k) => /^(to_patch_embedding\.\d|patch_to_embedding)\./.test(k)) && all.some((k) => /^transformer\.layers\.\d+\.0\./.test(k));
}

/** Sequential indices named by what they hold (a 1-D weight is a LayerNorm, a 2-D one a Linear). */
function nameSequentials(state: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const rank = (k: string) => state.get(k)?.shape.length;
  const patchLayers = [...new Set([...state.keys()].map((k) => /^to_patch_embedding\.(\d+)\.weight$/.exec(k)?.[1]).filter((i) => i !== undefined))].sort();
  const linearAt = patchLayers.find((i) => rank(`to_patch_embedding.${i}.weight`) === 2);
  for (const [key, t] of state) {
    let k = key;
    const patch = /^to_patch_embedding\.(\d+)\.(weight|bias)$/.exec(key);
    if (patch) {
      const role = patch[1] === linearAt ? "patch" : Number(patch[1]) < Number(linearAt) ? "norm_in" : "norm_out";
      k = `to_patch_embedding.${role}.${patch[2]}`;
    }
    const net = /^(transformer\.layers\.\d+\.1\.(?:fn\.)*net)\.(\d+)\.(weight|bias)$/.exec(key);
    if (net) {
      // current FeedForward: LayerNorm (0), Linear (1), Linear (4); older: Linear (0), Linear (3)
      const linears = [...state.keys()].filter((x) => x.startsWith(`${net[1]}.`) && x.endsWith(".weight") && state.get(x)!.shape.length === 2)
        .map((x) => Number(/\.(\d+)\.weight$/.exec(x)![1])).sort((a, b) => a - b);
      const i = Number(net[2]);
      k = `${net[1]}.${rank(`${net[1]}.${i}.weight`) === 1 ? "ln" : i === linears[0] ? "fc1" : "fc2"}.${net[3]}`;
    }
    out.set(k, t);
  }
  return out;
}

/** The side p of the square patches a flattened (D, p*p*C) patch projection reads; refused when its rows are not that. */
export function flatPatchSide(mapped: MappedState, file: string, channels: number): number {
  const w = mapped.params.get("patch_embed.proj.weight")!;
  const p = Math.round(Math.sqrt(w.shape[1] / channels));
  if (w.shape.length !== 2 || p * p * channels !== w.shape[1]) {
    throw new VitlensError(`${file}: patch projection ${mapped.origin.get("patch_embed.proj.weight")} has shape ${shapeString(w.shape)}: not ${channels}-channel square patches (pass --keymap for other layouts)`);
  }
  return p;
}

/**
 * The patch projection as a convolution: vit-pytorch flattens a patch as (p1 p2 c), a
 * convolution's weights read (c p1 p2). The Linear's columns and the patch LayerNorm's entries
 * are permuted once here, so the one patchify path serves both.
 */
export function asConvolution(mapped: MappedState, file: string, channels: number): void {
  const w = mapped.params.get("patch_embed.proj.weight")!;
  const [D, rowLen] = w.shape;
  const p = flatPatchSide(mapped, file, channels);
  const from = (c: number, i: number, j: number) => (i * p + j) * channels + c; // (p1 p2 c)
  const conv = new Float32Array(w.data.length);
  for (let d = 0; d < D; d++) for (let c = 0; c < channels; c++) for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
    conv[((d * channels + c) * p + i) * p + j] = w.data[d * rowLen + from(c, i, j)];
  }
  mapped.params.set("patch_embed.proj.weight", { data: conv, shape: [D, channels, p, p] });
  for (const name of ["patch_embed.norm_in.weight", "patch_embed.norm_in.bias"]) {
    const t = mapped.params.get(name);
    if (!t) continue;
    const v = new Float32Array(rowLen);
    for (let c = 0; c < channels; c++) for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) v[(c * p + i) * p + j] = t.data[from(c, i, j)];
    mapped.params.set(name, { data: v, shape: [rowLen] });
  }
}

export function fromVitPytorch(state: Map<string, Tensor>, file: string, channels = 3): MappedState {
  const mapped = applyKeyRules(nameSequentials(state), file, RULES);
  asConvolution(mapped, file, channels);
  const notes = ["vit-pytorch: pre-norm blocks, exact GELU, LayerNorm eps 1e-5 (the library's only choices)"];
  const hints: MappedState["hints"] = { ...mapped.hints, norm: "pre", activation: "gelu", layerNormEps: 1e-5 };
  const cls = state.get("cls_token");
  if (cls && cls.data.length === 0) {
    // pool 'mean' in the current layout: no CLS token, the mean of the patch tokens
    mapped.params.delete("cls_token");
    hints.pool = "avg";
  } else if (cls && cls.shape.length === 2) {
    hints.pool = "cls"; // the current layout keeps a CLS token only for pool 'cls'
  } else {
    // earlier layouts always have a CLS token, and pool 'mean' averaged every token, CLS included
    hints.pool = "cls";
    notes.push("vit-pytorch before 2025-11 records no pooling: pooled on CLS, its default pool='cls' (--pool avg-all for pool='mean')");
  }
  const p = mapped.params.get("patch_embed.norm_in.weight") ? "in+out" : mapped.params.get("patch_embed.norm.weight") ? "out" : undefined;
  if (p) hints.patchNorm = p;
  if (!mapped.params.has("blocks.0.attn.proj.weight")) {
    throw new VitlensError(`${file}: no to_out projection (vit-pytorch leaves it out for one head as wide as the model): not supported`);
  }
  return { ...mapped, hints, notes, family: "vit-pytorch" };
}
