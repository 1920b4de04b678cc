import { VitlensError } from "../errors.js";
import type { ViTConfig } from "../models/vit-config.js";
import { concatRows, shapeString, type Params, type Tensor } from "../tensor.js";

/** A checkpoint's tensors under vitlens' names, where each came from, what was dropped, and what the names themselves say. */
export interface MappedState {
  params: Params;
  origin: Map<string, string>; // vitlens name -> the file's key (for errors)
  ignored: string[];
  /** Architecture the key names show (a missing key bias, patch norms, ...), and family conventions. */
  hints?: Partial<ViTConfig>;
  /** Conventions assumed because the file does not record them, one `note:` line each. */
  notes?: string[];
  /** The family in the user's words: "HF BEiT", "vit-pytorch", ... */
  family?: string;
}

/**
 * A family's naming as rules: renames (a key pattern -> a vitlens name with $1..), attention
 * projections stored apart (`qkv`: groups layer, part or part2 (q/k/v or query/key/value), kind)
 * concatenated into one fused qkv, keys that are dropped, keys refused with a reason.
 */
export interface KeyRules {
  what: string; // "an HF ViT checkpoint"
  renames: Array<[RegExp, string]>;
  qkv?: RegExp;
  ignored?: RegExp[];
  refused?: Array<[RegExp, string]>;
  /** Removed before matching (a classifier's backbone prefix); the original key is kept for messages. */
  prefix?: RegExp;
  /** Matched against the key with its prefix (heads sit outside the backbone). */
  unprefixed?: Array<[RegExp, string]>;
  /** Where the fused projection goes (a ViT block's attn.qkv unless said). */
  qkvName?: (layer: string, kind: string) => string;
}

const PART: Record<string, "q" | "k" | "v"> = { q: "q", k: "k", v: "v", query: "q", key: "k", value: "v" };

/** Applies `rules` to a state dict; a key no rule knows is an error naming it. */
export function applyKeyRules(state: Map<string, Tensor>, file: string, rules: KeyRules): MappedState {
  const params: Params = new Map();
  const origin = new Map<string, string>();
  const ignored: string[] = [];
  const qkvParts = new Map<string, Partial<Record<"q" | "k" | "v", Tensor>>>();
  const put = (name: string, t: Tensor, key: string) => {
    if (params.has(name)) throw new VitlensError(`${file}: "${key}" and "${origin.get(name)}" are the same parameter (${name})`);
    params.set(name, t);
    origin.set(name, key);
  };
  for (const [key, t] of state) {
    const outer = rules.unprefixed?.find(([re]) => re.test(key));
    if (outer) {
      put(key.replace(outer[0], outer[1]), t, key);
      continue;
    }
    const k = rules.prefix ? key.replace(rules.prefix, "") : key;
    const refusal = rules.refused?.find(([re]) => re.test(k));
    if (refusal) throw new VitlensError(`${file}: "${key}": ${refusal[1]}`);
    const qkv = rules.qkv?.exec(k);
    if (qkv?.groups) {
      const { layer, kind } = qkv.groups;
      const part = qkv.groups.part ?? qkv.groups.part2; // two spellings in one pattern: named groups cannot repeat
      const name = rules.qkvName ? rules.qkvName(layer, kind) : `blocks.${layer}.attn.qkv.${kind}`;
      qkvParts.set(name, { ...qkvParts.get(name), [PART[part]]: t });
      origin.set(name, key.replace(new RegExp(`\\b${part}\\b`), "{q,k,v}"));
      continue;
    }
    const rename = rules.renames.find(([re]) => re.test(k));
    if (rename) put(k.replace(rename[0], rename[1]), t, key);
    else if (rules.ignored?.some((re) => re.test(k))) ignored.push(key);
    else throw new VitlensError(`${file}: unexpected key "${key}" for ${rules.what}`);
  }
  const hints: Partial<ViTConfig> = {};
  for (const [name, parts] of qkvParts) {
    const { q, k, v } = parts;
    // BEiT stores no key bias (it is zero): a zero block keeps one fused qkv bias
    if (name.endsWith(".bias") && q && v && !k) {
      parts.k = { data: new Float32Array(q.data.length), shape: q.shape };
      hints.keyBias = false;
    }
    const missing = (["q", "k", "v"] as const).filter((p) => !parts[p]);
    if (missing.length) throw new VitlensError(`${file}: ${origin.get(name)} is missing its ${missing.join(", ")} part`);
    const [a, b, c] = [parts.q!, parts.k!, parts.v!];
    if (shapeString(a.shape) !== shapeString(b.shape) || shapeString(a.shape) !== shapeString(c.shape)) {
      throw new VitlensError(`${file}: ${origin.get(name)}: query, key and value shapes differ (${[a, b, c].map((t) => shapeString(t.shape)).join(", ")})`);
    }
    params.set(name, concatRows([a, b, c]));
  }
  tokensAsTimm(params);
  return { params, origin, ignored, hints };
}

/** Token and position tensors in timm's (1, n, D) shape, whatever rank the family stored (CLIP's (D) class embedding, (N, D) embeddings). */
function tokensAsTimm(params: Params): void {
  for (const name of ["cls_token", "dist_token", "reg_token", "pos_embed"]) {
    const t = params.get(name);
    if (!t) continue;
    const D = t.shape[t.shape.length - 1];
    if (t.shape.length === 1) params.set(name, { data: t.data, shape: [1, 1, D] });
    else if (t.shape.length === 2) params.set(name, { data: t.data, shape: [1, t.shape[0], D] });
  }
}

export function sliceRows(t: Tensor, start: number, rows: number): Tensor {
  const rowLen = t.data.length / t.shape[0];
  return { data: t.data.slice(start * rowLen, (start + rows) * rowLen), shape: [rows, ...t.shape.slice(1)] };
}
