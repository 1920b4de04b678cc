import { z } from "zod";
import { VitlensError } from "../errors.js";
import { readJson } from "../io/read-json.js";
import { ACTIVATIONS } from "../nn/activation.js";
import { POOLS, type ViTConfig } from "../models/vit-config.js";
import type { Tensor } from "../tensor.js";
import { applyKeyRules, type MappedState } from "./keymap-rules.js";
import { asConvolution, flatPatchSide } from "./keymap-vit-pytorch.js";

/*
 * --keymap FILE: a ViT under names no known family uses. A small JSON maps the file's keys
 * (regular expressions, anchored) onto vitlens' names (`vitlens inspect --keys` lists them; $1..
 * refer to the pattern's groups), optionally a pattern for q/k/v stored apart, keys to ignore,
 * and the architecture the names cannot show. README's "Families" section has an example.
 */
const schema = z.strictObject({
  keys: z.record(z.string(), z.string()),
  qkv: z.string().optional(),
  ignore: z.array(z.string()).optional(),
  architecture: z.strictObject({
    norm: z.enum(["pre", "post"]).optional(),
    activation: z.enum(ACTIVATIONS).optional(),
    pool: z.enum(POOLS).optional(),
    lnEps: z.number().positive().optional(),
    heads: z.number().int().positive().optional(),
    imageSize: z.number().int().positive().optional(),
    channels: z.number().int().positive().optional(),
    /** how a 2-D patch projection's columns are ordered: a convolution's (c p1 p2), or (p1 p2 c) as einops' Rearrange */
    patchPixelOrder: z.enum(["c p1 p2", "p1 p2 c"]).optional(),
  }).optional(),
});

export type KeymapFile = z.infer<typeof schema>;

export function readKeymap(path: string): KeymapFile {
  const parsed = schema.safeParse(readJson(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VitlensError(`--keymap ${path}: ${issue.path.join(".") || "the file"}: ${issue.message} (expected {"keys": {"pattern": "vitlens name"}, "qkv"?, "ignore"?, "architecture"?})`);
  }
  return parsed.data;
}

function regex(path: string, what: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new VitlensError(`--keymap ${path}: ${what} "${pattern}" is not a valid regular expression (${(e as Error).message})`);
  }
}

export function fromKeymap(state: Map<string, Tensor>, file: string, path: string, map: KeymapFile): MappedState {
  const qkv = map.qkv ? regex(path, "qkv", map.qkv) : undefined;
  if (qkv && !/\(\?<layer>/.test(map.qkv!) || (qkv && !/\(\?<part>/.test(map.qkv!)) || (qkv && !/\(\?<kind>/.test(map.qkv!))) {
    throw new VitlensError(`--keymap ${path}: qkv needs the named groups (?<layer>...), (?<part>q|k|v) and (?<kind>weight|bias)`);
  }
  const mapped = applyKeyRules(state, file, {
    what: `the key map ${path}`,
    renames: Object.entries(map.keys).map(([from, to]) => [regex(path, "key", from), to]),
    qkv,
    ignored: (map.ignore ?? []).map((p) => regex(path, "ignore", p)),
  });
  const a = map.architecture ?? {};
  const w = mapped.params.get("patch_embed.proj.weight");
  if (w && w.shape.length === 2) {
    if (a.patchPixelOrder === "p1 p2 c") asConvolution(mapped, file, a.channels ?? 3);
    else {
      const C = a.channels ?? 3;
      const p = flatPatchSide(mapped, file, C);
      mapped.params.set("patch_embed.proj.weight", { data: w.data, shape: [w.shape[0], C, p, p] });
    }
  }
  const hints: Partial<ViTConfig> = {
    ...mapped.hints,
    ...(a.norm ? { norm: a.norm } : {}),
    ...(a.activation ? { activation: a.activation } : {}),
    ...(a.pool ? { pool: a.pool } : {}),
    ...(a.lnEps ? { layerNormEps: a.lnEps } : {}),
    ...(a.heads ? { numHeads: a.heads } : {}),
    ...(a.imageSize ? { imageSize: [a.imageSize, a.imageSize] as [number, number] } : {}),
  };
  return { ...mapped, hints, family: `--keymap ${path}` };
}
