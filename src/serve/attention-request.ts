import { VitlensError } from "../errors.js";
import type { HeadFusion } from "../explain/attention-maps.js";
import type { ViTConfig } from "../models/vit-config.js";
import { gridSize } from "../models/vit-config.js";

export const METHODS = ["cls", "raw", "rollout", "attribution"] as const;
export type AttentionMethod = (typeof METHODS)[number];

/** POST /api/attention, checked against the model: what the ViT thread computes. */
export interface AttentionRequest {
  method: AttentionMethod;
  layer: number;
  head: HeadFusion;
  /** raw: the query patch, row-major over the patch grid, 0-based, CLS excluded. */
  query: number | null;
  /** attribution: the target class. */
  class: number | null;
  discardRatio: number;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** The JSON body -> a request the model can answer, or a VitlensError naming the field. */
export function parseAttentionRequest(body: Record<string, unknown>, c: ViTConfig): AttentionRequest {
  const method = body.method ?? "cls";
  if (!METHODS.includes(method as AttentionMethod)) throw new VitlensError(`method ${JSON.stringify(method)}: expected one of ${METHODS.join(", ")}`);
  const layer = body.layer === undefined || body.layer === "last" ? c.numLayers - 1 : body.layer;
  if (!isInt(layer) || layer < 0 || layer >= c.numLayers) throw new VitlensError(`layer ${JSON.stringify(body.layer)}: the model has layers 0..${c.numLayers - 1} (or "last")`);
  const head = body.head ?? "mean";
  if (!(["mean", "max", "min"].includes(head as string) || (isInt(head) && head >= 0 && head < c.numHeads))) {
    throw new VitlensError(`head ${JSON.stringify(body.head)}: expected "mean", "max", "min" or a head index 0..${c.numHeads - 1}`);
  }
  const [gh, gw] = gridSize(c);
  let query: number | null = null;
  if (method === "raw") {
    if (!isInt(body.query) || body.query < 0 || body.query >= gh * gw) {
      throw new VitlensError(`query ${JSON.stringify(body.query)}: method raw needs the query patch, an index 0..${gh * gw - 1} (row-major over the ${gh}x${gw} grid, CLS excluded)`);
    }
    query = body.query;
  }
  let target: number | null = null;
  if (method === "attribution") {
    if (c.numClasses === 0) throw new VitlensError("method attribution: the model has no classification head to attribute");
    if (body.class === undefined || body.class === null) throw new VitlensError(`method attribution needs class: the index of the class to explain (0..${c.numClasses - 1})`);
    if (!isInt(body.class) || body.class < 0 || body.class >= c.numClasses) throw new VitlensError(`class ${JSON.stringify(body.class)}: expected a class index 0..${c.numClasses - 1}`);
    target = body.class;
  }
  const discardRatio = body.discardRatio ?? 0;
  if (typeof discardRatio !== "number" || !(discardRatio >= 0 && discardRatio < 1)) throw new VitlensError(`discardRatio ${JSON.stringify(body.discardRatio)}: expected a number in [0, 1)`);
  // Fields a method ignores are normalized, so they do not split the answer cache: rollout and
  // attribution span every layer, attribution weighs every head.
  return {
    method: method as AttentionMethod, layer: method === "rollout" || method === "attribution" ? c.numLayers - 1 : layer,
    head: method === "attribution" ? "mean" : (head as HeadFusion), query, class: target, discardRatio: method === "rollout" ? discardRatio : 0,
  };
}
