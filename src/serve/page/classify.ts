// Classify view: top-5, an attention overlay with method / layer / head controls, hover rows.
import { $, observed, postJson, showError, type GridAnswer } from "./api.js";
import { drawColorbar, drawHeat, figure, patchAt, range } from "./heat.js";
import { state } from "./state.js";

const canvas = () => $<HTMLCanvasElement>("overlay");
const val = (id: string) => $<HTMLInputElement | HTMLSelectElement>(id).value;
const headValue = (v: string): string | number => (["mean", "max", "min"].includes(v) ? v : Number(v));

/** The map request the controls describe, or null with the reason (attribution without a class). */
function currentRequest(over: Record<string, unknown> = {}): Record<string, unknown> | null {
  const method = val("method");
  const req: Record<string, unknown> = { image: state.imageId, method, layer: Number(val("layer")), head: headValue(val("head")), ...over };
  if (method === "rollout") req.discardRatio = Number(val("discard"));
  if (method === "attribution") {
    if (val("class") === "") return null;
    req.class = Number(val("class"));
  }
  return req;
}

let shown: GridAnswer | null = null;
let hovered = -1;
let hoverSeq = 0;
let mapSeq = 0;

function show(answer: GridAnswer, highlight = -1): void {
  drawHeat(canvas(), answer.map, answer.shape, { image: state.modelView, highlight });
  const [lo, hi] = range(answer.map);
  drawColorbar($<HTMLCanvasElement>("colorbar"), lo, hi, $("cb-min"), $("cb-max"));
}

export async function refreshMap(): Promise<void> {
  if (!state.imageId) return;
  const m = state.info.model;
  $("layer-value").textContent = `${val("layer")} of 0..${m.layers - 1}`;
  $("discard-value").textContent = val("discard");
  const req = currentRequest();
  $("map-note").textContent = req ? "" : "attribution needs a class: choose one in the class menu";
  if (!req) {
    shown = null;
    drawHeat(canvas(), new Array(m.grid[0] * m.grid[1]).fill(0), m.grid, { image: state.modelView, alpha: 0 });
    return;
  }
  const seq = ++mapSeq;
  try {
    const answer = await postJson<GridAnswer>("/api/attention", req);
    if (seq !== mapSeq) return;
    shown = answer;
    observed.lastMap = { request: req, answer };
    if (hovered < 0) show(answer);
    if (state.uploadStart && observed.timings.firstOverlay === undefined) observed.timings.firstOverlay = performance.now() - state.uploadStart;
    showError(null);
  } catch (e) {
    showError((e as Error).message);
  }
  await refreshStrip();
}

/** All layers as a strip and / or all heads as a grid, for the current method. */
async function refreshStrip(): Promise<void> {
  const strip = $("strip");
  strip.replaceChildren();
  const m = state.info.model;
  const layers = $<HTMLInputElement>("all-layers").checked && val("method") === "cls" ? [...Array(m.layers).keys()] : [null];
  const heads = $<HTMLInputElement>("all-heads").checked ? [...Array(m.heads).keys()] : [null];
  if (layers[0] === null && heads[0] === null) return;
  for (const l of layers) for (const h of heads) {
    const over: Record<string, unknown> = {};
    if (l !== null) over.layer = l;
    if (h !== null) over.head = h;
    const req = currentRequest(over);
    if (!req) return;
    const c = figure(strip, [l !== null ? `layer ${l}` : "", h !== null ? `head ${h}` : ""].filter(Boolean).join(", "));
    const answer = await postJson<GridAnswer>("/api/attention", req).catch((e: Error) => (showError(e.message), null));
    if (answer) drawHeat(c, answer.map, answer.shape, { image: state.modelView });
  }
}

async function hover(patch: number): Promise<void> {
  if (!state.imageId || patch === hovered) return;
  hovered = patch;
  const seq = ++hoverSeq;
  const req = { image: state.imageId, method: "raw", layer: Number(val("layer")), head: headValue(val("head")), query: patch };
  try {
    const answer = await postJson<GridAnswer>("/api/attention", req);
    if (seq !== hoverSeq || hovered < 0) return;
    observed.lastHover = { request: req, answer };
    show(answer, patch);
    const [gh, gw] = answer.shape;
    $("hover-info").textContent = `patch ${patch} (row ${Math.floor(patch / gw)}, col ${patch % gw} of ${gh}x${gw}) as query, layer ${req.layer}, head ${req.head}; attention on CLS ${answer.cls?.toFixed(4)}`;
  } catch (e) {
    showError((e as Error).message);
  }
}

export async function predict(): Promise<void> {
  const res = await postJson<{ top: typeof observed.top }>("/api/predict", { image: state.imageId });
  observed.top = res.top;
  $("top5").replaceChildren(...res.top.map((t) => {
    const li = document.createElement("li");
    li.textContent = `${(100 * t.score).toFixed(2).padStart(6)}%  ${t.label} (${t.index})`;
    return li;
  }));
}

export function setupClassify(): void {
  const m = state.info.model;
  const layer = $<HTMLInputElement>("layer");
  layer.max = String(m.layers - 1);
  layer.value = String(m.layers - 1);
  for (let h = 0; h < m.heads; h++) $("head").append(new Option(`head ${h}`, String(h)));
  m.labels.forEach((label, i) => $("class").append(new Option(`${i}: ${label}`, String(i))));
  for (const id of ["method", "layer", "head", "discard", "class", "all-layers", "all-heads"]) $(id).addEventListener("change", () => void refreshMap());
  layer.addEventListener("input", () => void refreshMap());
  canvas().addEventListener("mousemove", (e) => void hover(patchAt(e, canvas(), m.grid)));
  canvas().addEventListener("mouseleave", () => {
    hovered = -1;
    hoverSeq++;
    $("hover-info").textContent = "hover a patch: its attention row (the patch as query)";
    if (shown) show(shown);
  });
}
