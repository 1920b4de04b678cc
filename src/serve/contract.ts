// The explorer's JSON API, one definition for the routes, the page and the tests: request
// fields, answers, error codes and the paths that carry them. No Node and no DOM in here: the
// server's tsconfig and the page's both compile this file.

/** norm: each patch token's L2 norm after a layer (not attention: the registers paper's artifact map). */
export const METHODS = ["cls", "raw", "rollout", "attribution", "norm"] as const;
export type Method = (typeof METHODS)[number];
export const FUSIONS = ["mean", "max", "min"] as const;
/** One head by index, or the mean / max / min over heads. */
export type HeadFusion = number | (typeof FUSIONS)[number];

/** Every error answer: one line, and a code the page acts on. */
export type ErrorCode = "bad-request" | "unknown-image" | "not-found" | "no-captioner" | "too-large" | "queue-full" | "forbidden" | "internal";
export interface ErrorAnswer {
  error: string;
  code: ErrorCode;
}

export interface ModelInfo {
  source: string;
  backend: string;
  notes: string[];
  labels: string[];
  numClasses: number;
  layers: number;
  heads: number;
  grid: [number, number];
  imageSize: [number, number];
  patchSize: number;
  /** The tokens before the patches, left out of every map: "CLS" (when the model has one), then "distillation", "register 0", ... */
  prefix: string[];
  /** What the maps' query row is: "CLS", or the mean of the patch rows for a model without a CLS token. */
  query: string;
}

export interface CaptionerInfo {
  source: string;
  grid: [number, number];
  imageSize: [number, number];
  layers: number;
  heads: number;
  maxLength: number;
  /** The decoder layer the page starts on: the one whose maps grounded best in the captioner's own validation, else the last. */
  defaultLayer: number;
  /** Why that layer, in words (null: the last, for want of a measurement). */
  defaultLayerWhy: string | null;
}

export interface InfoAnswer {
  model: ModelInfo;
  captioner: CaptionerInfo | { error: string };
  queue: number;
  maxUpload: number;
}

export interface ImageAnswer {
  id: string;
  width: number;
  height: number;
}

export interface TopEntry {
  index: number;
  label: string;
  score: number;
}
export interface PredictAnswer {
  image: string;
  logits: number[];
  top: TopEntry[];
}

/** POST /api/attention: fields in the query string (or, for scripts, in a JSON body beside "image"). */
export interface AttentionParams {
  method?: Method;
  layer?: number | "last";
  head?: HeadFusion;
  /** raw: the query patch, row-major over the patch grid, 0-based, prefix tokens excluded. */
  query?: number;
  /** attribution: the class to explain (default: the predicted one). */
  class?: number;
  /** rollout: the share of the weakest attentions zeroed per layer. */
  discardRatio?: number;
}

export interface AttentionAnswer {
  image: string;
  method: Method;
  layer: number;
  head: HeadFusion;
  query: number | null;
  class: number | null;
  /** attribution: "predicted" when no class was asked for. */
  classFrom: "asked" | "predicted" | null;
  discardRatio: number;
  shape: [number, number];
  map: number[];
  /** cls and raw: the row's share on each prefix token (ModelInfo.prefix), before the patches; norm: the prefix tokens' norms. */
  prefix?: number[];
}

/** GET /api/attention/grid: every (layer, head) map of one image, CLS rows or one query patch's rows. */
export interface GridParams {
  /** "all" or a list; default all. */
  layers?: number[] | "all";
  /** "all" (every head index) and / or fusions, e.g. ["all", "mean"]; default every head and the mean. */
  heads?: Array<HeadFusion | "all">;
  query?: number | null;
}
export interface GridAnswer {
  image: string;
  query: number | null;
  layers: number[];
  heads: HeadFusion[];
  shape: [number, number];
  /** maps[i][j]: layer layers[i], head heads[j], over the patches. */
  maps: number[][][];
  /** prefix[i][j]: that row's share on each prefix token. */
  prefix: number[][][];
}

/** GET /api/attention/dino: one layer's CLS maps per head, with DINO's keep-mass mask. */
export interface DinoParams {
  layer?: number | "last";
  /** The share of the mass the kept patches hold, (0, 1]. */
  keep?: number;
}
export interface DinoHead {
  head: HeadFusion;
  map: number[];
  /** 1 for the fewest patches holding `keep` of the patch mass, else 0. */
  mask: number[];
  kept: number;
  /** The CLS row's share on each prefix token. */
  prefix: number[];
}
export interface DinoAnswer {
  image: string;
  layer: number;
  keep: number;
  shape: [number, number];
  heads: DinoHead[];
}

export interface PosembAnswer {
  shape: [number, number];
  similarity: number[];
}
export interface PosembPatchAnswer {
  shape: [number, number];
  patch: number;
  map: number[];
}

export interface CaptionParams {
  beam?: number;
  layer?: number | "last";
  head?: number | "mean";
}
export interface CaptionAnswer {
  image: string;
  beam: number;
  caption: string;
  tokens: string[];
  words?: string[];
  score: number;
  maps: number[][];
  cls: number[];
  grid: [number, number];
  layer: number;
  head: number | "mean";
}

/** How the colours of several maps relate: each its own range, one range per layer, or one for all shown. */
export const SCALES = ["map", "layer", "view"] as const;
export type ScaleMode = (typeof SCALES)[number];

/** GET /api/export.png and /api/export.json: the maps `vitlens attention` would draw, drawn by its renderer. */
export interface ExportParams extends AttentionParams {
  /** cls / raw: "all" or a list of layers instead of `layer`. */
  layers?: number[] | "all";
  /** cls / raw / rollout: "all" and / or fusions instead of `head`. */
  heads?: Array<HeadFusion | "all">;
  scale?: ScaleMode;
  /** Colour scales start at 0 (else at the lowest value). */
  zero?: boolean;
  /** A keep-mass mask over each map (cls): the patches outside it are dimmed. */
  keep?: number;
}
export interface ExportMap {
  title: string;
  layer: number | null;
  head: HeadFusion | null;
  map: number[];
  range: [number, number];
  mask?: number[];
}
export interface ExportAnswer {
  image: string;
  method: Method;
  shape: [number, number];
  maps: ExportMap[];
  caption: string | null;
}

export interface Sample {
  /** The path under /samples/. */
  name: string;
  set: string;
  /** Made for this model (its own data), not just of a fitting size. */
  own: boolean;
}
export interface SamplesAnswer {
  classify: Sample[];
  caption: Sample[];
  /** Why a list is what it is, when nothing bundled fits. */
  notes: string[];
}

/** finished: the run's state says every epoch ran; live: not finished and written to lately; idle: neither. */
export type RunStatus = "live" | "finished" | "idle";
export interface RunSummary {
  name: string;
  kind: string | null;
  status: RunStatus;
  /** The status in words (what it was read from). */
  statusWhy: string;
  epochsDone: number;
  epochsTotal: number | null;
  steps: number;
  /** When the run last wrote a file (ISO), or null. */
  updated: string | null;
  /** A version of the run's best/ or last/ model (changes when a new one is saved), or null. */
  model: string | null;
}
export interface RunsAnswer {
  dir: string;
  exists: boolean;
  runs: RunSummary[];
}
export type MetricRecord = Record<string, unknown> & { type?: string };
export interface RunAnswer {
  name: string;
  run: Record<string, unknown> | null;
  metrics: MetricRecord[];
  summary: RunSummary;
}
export interface RunReportAnswer {
  classNames: string[];
  evaluation: { samples: number; accuracy: number; top5: number; loss: number; confusion: number[][]; perClass: Array<{ accuracy: number }> } | null;
  gallery: Array<{ name: string; label: string; predicted: string; score: number; correct: boolean; map: string; input: string; overlay: string }>;
}

/** Server-Sent Events: /api/runs/events sends RUNS_EVENT (RunSummary[]) on every change; /api/runs/NAME/events RESET then METRIC. */
export const RUNS_EVENT = "runs";
export const RESET_EVENT = "reset";
export const METRIC_EVENT = "metric";

type QueryValue = string | number | boolean | null | undefined | Array<string | number>;

/** A query string from fields (undefined and null left out, lists comma-joined, booleans 1 / 0). */
export function queryString(fields: Record<string, QueryValue>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue;
    const text = Array.isArray(v) ? v.join(",") : typeof v === "boolean" ? (v ? "1" : "0") : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(text)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** The paths of the API, built from typed fields (the page and the tests use these; the routes register them). */
export const paths = {
  info: "/api/info",
  colormap: "/api/colormap",
  samples: "/api/samples",
  sample: (name: string) => `/samples/${name.split("/").map(encodeURIComponent).join("/")}`,
  images: "/api/images",
  image: (id: string) => `/api/images/${encodeURIComponent(id)}`,
  predict: (image?: string) => `/api/predict${queryString({ image })}`,
  attention: (p: AttentionParams & { image?: string }) => `/api/attention${queryString({ ...p })}`,
  grid: (image: string, p: GridParams) => `/api/attention/grid${queryString({ image, ...p })}`,
  dino: (image: string, p: DinoParams) => `/api/attention/dino${queryString({ image, ...p })}`,
  posemb: (patch?: number) => `/api/posemb${queryString({ patch })}`,
  caption: (p: CaptionParams & { image?: string }) => `/api/caption${queryString({ ...p })}`,
  exportFile: (format: "png" | "json", image: string, p: ExportParams) => `/api/export.${format}${queryString({ image, ...p })}`,
  runs: "/api/runs",
  runsEvents: "/api/runs/events",
  run: (name: string) => `/api/runs/${encodeURIComponent(name)}`,
  runEvents: (name: string) => `/api/runs/${encodeURIComponent(name)}/events`,
  runReport: (name: string) => `/api/runs/${encodeURIComponent(name)}/report`,
  runCsv: (name: string) => `/api/runs/${encodeURIComponent(name)}/metrics.csv`,
};
