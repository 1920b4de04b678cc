import { VitlensError } from "../errors.js";
import { dropUndefined, finiteNumber, numberPair } from "../io/json-values.js";
import type { ViTConfig } from "../models/vit-config.js";
import { ACTIVATIONS, activationNamed } from "../nn/activation.js";
import { VITLENS_OPTIONS } from "./save-timm.js";

/*
 * A timm config.json (`architecture`, `model_args`, `pretrained_cfg`, `label_names`): the
 * model_args that change what the network computes, and what an architecture name implies
 * without them (timm's registry: `vit_*_clip_*` are pre-norm with LayerNorm eps 1e-5 and no
 * patch bias, `*_quickgelu` use QuickGELU, `beit_*` are BEiT). Options vitlens lacks are refused
 * by name rather than run as a plain ViT.
 */

export function timmConfigHints(j: Record<string, unknown>, file: string): Partial<ViTConfig> {
  const pc = (j.pretrained_cfg ?? {}) as Record<string, unknown>;
  const args = (j.model_args ?? {}) as Record<string, unknown>;
  const arch = String(j.architecture ?? "");
  refuseTimmOptions(args, j, arch, file);
  const input = Array.isArray(pc.input_size) ? (pc.input_size as number[]) : undefined;
  const fromName = /_patch(\d+)_(\d+)/.exec(arch);
  const actName = args.act_layer ?? (/_quickgelu(_|\.|$)/.test(arch) ? "quick_gelu" : undefined);
  const activation = actName === undefined ? undefined : activationNamed(String(actName));
  if (activation === null) {
    throw new VitlensError(`${file}: model_args.act_layer "${String(actName)}" is not an activation vitlens has (${ACTIVATIONS.join(", ")})`);
  }
  const pool = args.global_pool ?? j.global_pool;
  const labels = timmLabelNames(j.label_names ?? pc.label_names ?? j.labels);
  const embed = finiteNumber(args.embed_dim);
  const ratio = finiteNumber(args.mlp_ratio);
  const clip = /_clip_/.test(arch);
  const hints: Partial<ViTConfig> = dropUndefined({
    hiddenSize: embed,
    numLayers: finiteNumber(args.depth),
    numHeads: finiteNumber(args.num_heads),
    mlpSize: embed && ratio ? Math.round(embed * ratio) : undefined,
    patchSize: finiteNumber(args.patch_size) ?? (fromName ? Number(fromName[1]) : undefined),
    imageSize: numberPair(args.img_size) ?? (input ? [input[1], input[2]] : fromName ? numberPair(Number(fromName[2])) : undefined),
    layerNormEps: finiteNumber(args.layer_norm_eps) ?? (clip ? 1e-5 : 1e-6),
    posEmbedTokens: args.no_embed_class === true ? "patches" : undefined,
    // timm's resample_abs_pos_embed (checkpoint loading, dynamic_img_size): bicubic with antialias
    posEmbedResample: "bicubic-antialias",
    pool: pool === "avg" ? (args.pool_include_prefix === true ? "avg-all" : "avg") : pool === "token" ? "cls" : /^beit/.test(arch) && pool === undefined ? "avg" : undefined,
    activation,
    id2label: labels ? Object.fromEntries(labels.map((l, i) => [String(i), l])) : undefined,
  } satisfies Partial<ViTConfig>);
  // what vitlens wrote: every option as it computes them (a model timm itself may not build)
  const own = j.vitlens;
  if (typeof own === "object" && own !== null) {
    for (const k of VITLENS_OPTIONS) if (k in own) Object.assign(hints, { [k]: (own as Record<string, unknown>)[k] });
  }
  return hints;
}

/** timm's class names: `label_names` at the top level (timm 1.0), in pretrained_cfg, or legacy `labels`; a list or an id -> name map. */
function timmLabelNames(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "string")) {
    return Object.entries(v as Record<string, string>).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, n]) => n);
  }
  return undefined;
}

/** model_args that change what timm computes and that vitlens' ViT does not have: refused by name. */
function refuseTimmOptions(args: Record<string, unknown>, j: Record<string, unknown>, arch: string, file: string): void {
  const pool = args.global_pool ?? j.global_pool;
  const unsupported: Array<[boolean, string]> = [
    [/^(eva|vit_.*_rope|vit_.*_siglip|samvit|vitamin|cait|xcit|levit|swin|pit|tnt)/.test(arch), `architecture "${arch}" (not a plain ViT, BEiT or DeiT)`],
    [pool !== undefined && !["token", "avg"].includes(String(pool)), `global_pool "${String(pool)}" (vitlens pools on CLS or averages the patch tokens)`],
    [args.qk_norm === true, "qk_norm"],
    [args.attn_pool !== undefined, "attn_pool"],
    [args.pos_embed === "none" && args.class_token === false, "no position embedding and no CLS token"],
    [args.use_rot_pos_emb === true || args.rope !== undefined, "rotary position embeddings"],
  ];
  const found = unsupported.filter(([bad]) => bad).map(([, what]) => what);
  if (found.length) throw new VitlensError(`${file}: timm ${found.join(", ")}: not supported; vitlens would compute a different network`);
}

/** A timm config's architecture name (`vit_base_patch16_224.augreg_in21k`), which can tell the heads. */
export function timmArchitecture(j: Record<string, unknown>): string | undefined {
  return typeof j.architecture === "string" ? j.architecture : undefined;
}
