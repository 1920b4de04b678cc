import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { keepMask } from "../explain/attention-maps.js";
import type { RawImage } from "../data/raw-image.js";
import { blendHeat, blendMask, tileGrid } from "../render/overlay.js";
import { attentionAnswer, gridAnswer, predictAnswer } from "./answers.js";
import { parseExportRequest, type ExportRequest } from "./attention-request.js";
import type { ServerContext } from "./context.js";
import type { AttentionAnswer, ExportAnswer, ExportMap, GridAnswer, HeadFusion, PredictAnswer } from "./contract.js";
import type { StoredImage } from "./image-store.js";
import { displaySize, modelView } from "./model-view.js";
import { formatValue, sharedRanges } from "./scales.js";
import { requestFields, requestImage } from "./upload.js";

const headTitle = (h: HeadFusion, several: boolean) => (typeof h === "number" || several ? `head ${h}` : `${h} of heads`);

/** The maps one export asks for, titled as `vitlens attention` titles them, with their colour ranges and masks. */
async function exportMaps(ctx: ServerContext, s: StoredImage, e: ExportRequest): Promise<ExportAnswer> {
  const { base } = e;
  const labels = ctx.vit.info.labels;
  let maps: Array<Omit<ExportMap, "range">>;
  let shape: [number, number];
  if (base.method === "cls" || base.method === "raw") {
    const g = JSON.parse(await gridAnswer(ctx, s, { layers: e.layers, heads: e.heads, query: base.query })) as GridAnswer;
    shape = g.shape;
    const query = base.query === null ? "" : `patch ${base.query}, `;
    maps = g.layers.flatMap((l, i) => g.heads.map((h, j) => ({
      title: query + [e.layers.length > 1 || base.query !== null ? `layer ${l}` : "", headTitle(h, e.heads.length > 1)].filter(Boolean).join(", "), layer: l, head: h, map: g.maps[i][j],
    })));
  } else if (base.method === "norm") {
    const answers = await Promise.all(e.layers.map(async (layer) => JSON.parse(await attentionAnswer(ctx, s, { ...base, layer })) as AttentionAnswer));
    shape = answers[0].shape;
    maps = answers.map((a) => ({ title: `token norm after layer ${a.layer}`, layer: a.layer, head: null, map: a.map }));
  } else {
    const answers = await Promise.all(e.heads.map(async (head) => JSON.parse(await attentionAnswer(ctx, s, { ...base, head })) as AttentionAnswer));
    shape = answers[0].shape;
    maps = answers.map((a) => ({
      title: a.method === "rollout" ? `rollout (${typeof a.head === "number" ? `head ${a.head}` : a.head}${a.discardRatio ? `, discard ${a.discardRatio}` : ""})` : `attribution for "${labels[a.class!] ?? a.class}"`,
      layer: null, head: a.method === "rollout" ? a.head : null, map: a.map,
    }));
  }
  const ranges = sharedRanges(maps.map((m) => ({ layer: m.layer, values: m.map })), e.scale, e.zero);
  const top = ctx.vit.info.config.numClasses > 0 ? (JSON.parse(await predictAnswer(ctx, s)) as PredictAnswer).top[0] : null;
  return {
    image: s.id, method: base.method, shape,
    maps: maps.map((m, i) => ({ ...m, range: ranges[i], ...(e.keep !== null ? { mask: Array.from(keepMask(Float32Array.from(m.map), e.keep)) } : {}) })),
    caption: top ? `predicted: ${top.label} (${(100 * top.score).toFixed(1)}%)` : null,
  };
}

/** A map's tile as `vitlens attention` draws it (DINO's mask with a keep share), on the export's shared colour range. */
function tile(img: RawImage, m: ExportMap, [rows, cols]: [number, number]): RawImage {
  return m.mask ? blendMask(img, { values: m.mask, rows, cols }) : blendHeat(img, { values: m.map, rows, cols }, 0.5, "inferno", m.range);
}

/** The PNG `vitlens attention` would write for these maps (tileGrid): each layer's row starts with the input. */
async function exportPng(ctx: ServerContext, s: StoredImage, e: ExportRequest, a: ExportAnswer): Promise<Buffer> {
  const display = await displaySize(await modelView(ctx, s));
  const perRow = e.layers.length > 1 ? e.heads.length : a.maps.length;
  const tiles = a.maps.flatMap((m, i) => [
    ...(i % perRow === 0 ? [{ image: display, title: e.layers.length > 1 ? `layer ${m.layer}: input` : "input" }] : []),
    { image: tile(display, m, a.shape), title: m.mask ? `${m.title}, keep ${Math.round(100 * e.keep!)}%` : `${m.title} · ${formatValue(m.range[0], m.range)}–${formatValue(m.range[1], m.range)}` },
  ]);
  const how = e.keep !== null
    ? `masks: the fewest patches holding ${(100 * e.keep).toFixed(0)}% of each map's mass`
    : `colours: ${e.scale === "map" ? "each map its own range" : e.scale === "layer" ? "one range per layer" : "one range for all"}${e.zero ? ", from 0" : ""}`;
  return tileGrid(tiles, perRow + 1, Math.max(160, Math.min(display.width, 224)), [a.caption, how].filter(Boolean).join(" · "));
}

/** GET /api/export.png and /api/export.json: any map or grid of the page, drawn by `vitlens attention`'s renderer, and the numbers behind it. */
export function exportRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = ctx.vit.info.config;
  const handle = (format: "png" | "json") => async (req: FastifyRequest, reply: FastifyReply) => {
    const e = parseExportRequest(requestFields(req), config);
    const s = await requestImage(ctx, req);
    const a = await exportMaps(ctx, s, e);
    const name = `${s.id.slice(0, 12)}.${e.base.method}`;
    reply.header("content-disposition", `attachment; filename="${name}.${format}"`);
    if (format === "json") return reply.type("application/json").send(JSON.stringify(a));
    return reply.type("image/png").send(await exportPng(ctx, s, e, a));
  };
  app.get("/api/export.png", handle("png"));
  app.get("/api/export.json", handle("json"));
}
