import { VitlensError } from "../errors.js";
import type { ViTConfig } from "../models/vit-config.js";
import { gridSize } from "../models/vit-config.js";
import { METHODS, SCALES, type HeadFusion, type Method, type ScaleMode } from "./contract.js";
import { boolField, choiceField, headsField, headValue, intField, layerField, layersField, numberField, type Fields } from "./fields.js";

/** /api/attention's fields, checked against the model: what the ViT thread computes. */
export interface AttentionRequest {
  method: Method;
  layer: number;
  head: HeadFusion;
  /** raw: the query patch, row-major over the patch grid, 0-based, prefix tokens excluded. */
  query: number | null;
  /** attribution: the target class; null: the predicted one (the route resolves it). */
  class: number | null;
  discardRatio: number;
}

const queryField = (f: Fields, c: ViTConfig, why: string): number => {
  const [gh, gw] = gridSize(c);
  return intField(f, "query", 0, gh * gw - 1, `${why}, an index 0..${gh * gw - 1} (row-major over the ${gh}x${gw} grid, prefix tokens excluded)`);
};

const classField = (f: Fields, c: ViTConfig): number | null => {
  if (f.class === undefined || f.class === null || f.class === "" || f.class === "predicted") return null;
  return intField(f, "class", 0, c.numClasses - 1, `a class index 0..${c.numClasses - 1} (or "predicted")`);
};

/** The fields (query string and JSON body together) -> a request the model can answer, or a VitlensError naming the field. */
export function parseAttentionRequest(f: Fields, c: ViTConfig): AttentionRequest {
  const method = choiceField(f, "method", METHODS, "cls");
  const layer = layerField(f, "layer", c.numLayers);
  const head = f.head === undefined || f.head === "" ? "mean" : headValue(f.head, "head", c.numHeads);
  const query = method === "raw" ? queryField(f, c, "the query patch (method raw needs one)") : null;
  if (method === "attribution" && c.numClasses === 0) throw new VitlensError("method attribution: the model has no classification head to attribute");
  const target = method === "attribution" ? classField(f, c) : null;
  const discardRatio = numberField(f, "discardRatio", 0, 1, 0);
  // Fields a method ignores are normalized, so they do not split the answer cache: rollout and
  // attribution span every layer, attribution weighs every head, norm has no heads.
  return {
    method, layer: method === "rollout" || method === "attribution" ? c.numLayers - 1 : layer,
    head: method === "attribution" || method === "norm" ? "mean" : head, query, class: target, discardRatio: method === "rollout" ? discardRatio : 0,
  };
}

/** /api/attention/grid: layers x heads of CLS rows, or of one query patch's rows. */
export function parseGridRequest(f: Fields, c: ViTConfig): { layers: number[]; heads: HeadFusion[]; query: number | null } {
  return {
    layers: layersField(f, "layers", c.numLayers),
    heads: headsField(f, "heads", c.numHeads, ["all", "mean"]),
    query: f.query === undefined || f.query === "" || f.query === null ? null : queryField(f, c, "the query patch"),
  };
}

/** /api/attention/dino: one layer, the keep share. */
export function parseDinoRequest(f: Fields, c: ViTConfig): { layer: number; keep: number } {
  const keep = numberField(f, "keep", 0, 1, 0.6, true);
  if (keep === 0) throw new VitlensError(`keep ${JSON.stringify(f.keep)}: expected a share in (0, 1]`);
  return { layer: layerField(f, "layer", c.numLayers), keep };
}

/** /api/export.*: the maps of one attention request, or of several layers / heads, and how to colour them. */
export interface ExportRequest {
  base: AttentionRequest;
  layers: number[];
  heads: HeadFusion[];
  scale: ScaleMode;
  zero: boolean;
  keep: number | null;
}

export function parseExportRequest(f: Fields, c: ViTConfig): ExportRequest {
  const base = parseAttentionRequest(f, c);
  const perLayer = base.method === "cls" || base.method === "raw" || base.method === "norm";
  const layers = perLayer && f.layers !== undefined ? layersField(f, "layers", c.numLayers) : [base.layer];
  const heads = base.method !== "attribution" && base.method !== "norm" && f.heads !== undefined ? headsField(f, "heads", c.numHeads, ["mean"]) : [base.head];
  const keep = f.keep === undefined || f.keep === "" ? null : parseDinoRequest(f, c).keep;
  if (keep !== null && base.method !== "cls" && base.method !== "raw") {
    throw new VitlensError(`keep applies to the cls and raw maps (DINO's per-head masks), not ${base.method}`); // as attention --keep
  }
  return { base, layers, heads, scale: choiceField(f, "scale", SCALES, "map"), zero: boolField(f, "zero", true), keep };
}
