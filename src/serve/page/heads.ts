// Layers x heads (BertViz's model view): every head's map in every layer, the mean beside them;
// click a map to enlarge it, click a patch to pin it as the query, Esc unpins, arrows move it.
import { paths, SCALES, type GridAnswer, type HeadFusion, type ScaleMode } from "../contract.js";
import { formatValue, sharedRanges } from "../scales.js";
import { getJson } from "./api.js";
import { app, hasCls, queryShort } from "./context.js";
import { $, el, setValue } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { colorbar, drawHeat, drawPlain, hiDpi, movePatch, patchAt, patchText, updateColorbar } from "./heat.js";
import { modelView, withImage } from "./image.js";
import { forget, observed, show } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type PageState } from "./store.js";

const slot = new Slot("heads", () => $("heads-grid-box"));
let shown: { key: string; answer: GridAnswer; image: HTMLImageElement; ranges: Array<[number, number]> } | null = null;

const headName = (h: HeadFusion) => (typeof h === "number" ? `head ${h}` : h);
const cellSize = (columns: number) => Math.max(40, Math.min(96, Math.floor((1180 - 360) / (columns + 0.6)) - 8));

function rangesFor(a: GridAnswer, mode: ScaleMode, zero: boolean): Array<[number, number]> {
  return sharedRanges(a.layers.flatMap((l, i) => a.heads.map((_, j) => ({ layer: l, values: a.maps[i][j] }))), mode, zero);
}

/** The grid: a header row of heads, then per layer its label, its maps and (per-layer scale) its colour bar. */
function drawGrid(s: PageState): void {
  if (!shown) return;
  const { answer: a, image } = shown;
  shown.ranges = rangesFor(a, s.scale, s.zero);
  const size = cellSize(a.heads.length);
  const grid = $("heads-grid");
  grid.style.gridTemplateColumns = `4.5em repeat(${a.heads.length}, ${size}px)${s.scale === "layer" ? " 9em" : ""}`;
  const cells: HTMLElement[] = [el("span"), ...a.heads.map((h) => el("span", { class: "colhead" }, headName(h)))];
  if (s.scale === "layer") cells.push(el("span"));
  a.layers.forEach((l, i) => {
    cells.push(el("span", { class: "rowhead" }, `layer ${l}`));
    a.heads.forEach((h, j) => {
      const range = shown!.ranges[i * a.heads.length + j];
      const canvas = el("canvas");
      hiDpi(canvas, size);
      drawHeat(canvas, a.maps[i][j], a.shape, { image, range, highlight: a.query });
      const cell = el("button", { class: "cell", type: "button", title: `layer ${l}, ${headName(h)}: click to enlarge`, "data-layer": String(l), "data-head": String(h) }, canvas);
      if (s.scale === "map") cell.append(colorbar(range));
      cell.addEventListener("click", () => store.set({ zoom: `${l},${h}` }));
      cell.addEventListener("mousemove", (e) => {
        const p = patchAt(e, canvas, a.shape);
        $("heads-hover").textContent = `layer ${l}, ${headName(h)} · ${patchText(p, a.shape)}: ${formatValue(a.maps[i][j][p], range)}`;
      });
      cells.push(cell);
    });
    if (s.scale === "layer") cells.push(colorbar(shown!.ranges[i * a.heads.length]));
  });
  grid.replaceChildren(...cells);
  const bar = $("heads-bar");
  bar.hidden = s.scale !== "view";
  updateColorbar(bar, shown.ranges[0] ?? null, "attention, every map");
  grid.dataset.scale = s.scale;
}

function drawQuery(s: PageState): void {
  const c = $<HTMLCanvasElement>("heads-query");
  hiDpi(c, 224);
  drawPlain(c, shown?.image ?? null);
  const [gh, gw] = app.model.grid;
  if (s.query !== null && shown) {
    const ctx = c.getContext("2d")!;
    ctx.strokeStyle = "#0ff";
    ctx.lineWidth = 3;
    ctx.strokeRect((s.query % gw) * (c.width / gw), Math.floor(s.query / gw) * (c.height / gh), c.width / gw, c.height / gh);
  }
  $("heads-query-info").textContent = s.query === null ? `rows: ${hasCls() ? "the CLS token's attention" : "the mean of the patch rows (no CLS token)"} · click a patch to make it the query` : `rows: ${patchText(s.query, app.model.grid)} as query · Esc unpins, arrows move`;
}

function drawZoom(s: PageState): void {
  const panel = $("heads-zoom");
  const at = s.zoom?.split(",");
  const i = at && shown ? shown.answer.layers.indexOf(Number(at[0])) : -1;
  const j = at && shown ? shown.answer.heads.map(String).indexOf(at[1]) : -1;
  panel.hidden = i < 0 || j < 0;
  if (panel.hidden || !shown) return;
  const a = shown.answer;
  const range = shown.ranges[i * a.heads.length + j];
  const c = $<HTMLCanvasElement>("heads-zoom-canvas");
  hiDpi(c, 336);
  drawHeat(c, a.maps[i][j], a.shape, { image: shown.image, range, highlight: a.query });
  updateColorbar($("heads-zoom-bar"), range, "attention");
  $("heads-zoom-title").textContent = `layer ${a.layers[i]}, ${headName(a.heads[j])}${a.query === null ? `, ${queryShort()} row` : `, ${patchText(a.query, a.shape)} as query`}`;
  c.onmousemove = (e) => {
    const p = patchAt(e, c, a.shape);
    $("heads-zoom-info").textContent = `${patchText(p, a.shape)}: ${formatValue(a.maps[i][j][p], range)} · click to make it the query`;
  };
  c.onclick = (e) => store.set({ query: patchAt(e, c, a.shape) });
}

export async function renderHeads(s: PageState, prev: PageState): Promise<void> {
  setValue("heads-scale", s.scale);
  $<HTMLInputElement>("heads-zero").checked = s.zero;
  const id = s.image?.id;
  for (const format of ["png", "json"] as const) {
    const a = $<HTMLAnchorElement>(`heads-${format}`);
    a.hidden = !id;
    if (id) a.href = paths.exportFile(format, id, { method: s.query === null ? "cls" : "raw", query: s.query ?? undefined, layers: "all", heads: ["all", "mean"], scale: s.scale, zero: s.zero });
  }
  if (s.view !== "heads") return;
  if (!id) {
    slot.cancel();
    shown = null;
    $("heads-grid").replaceChildren();
    $("heads-grid-box").dataset.empty = s.image ? "uploading…" : "choose an image";
    forget("heads");
    drawQuery(s);
    drawZoom(s);
    return;
  }
  const key = JSON.stringify({ id, query: s.query });
  if (slot.key === key) {
    if (shown?.key !== key) return; // still loading
    if (s.scale !== prev.scale || s.zero !== prev.zero) drawGrid(s);
    drawQuery(s);
    drawZoom(s);
    return;
  }
  const t0 = performance.now();
  try {
    const got = await slot.load(key, (signal) => Promise.all([
      modelView(id), withImage(id, (i) => getJson<GridAnswer>(paths.grid(i, { layers: "all", heads: ["all", "mean"], query: s.query }), signal)),
    ]));
    if (!got) return;
    shown = { key, image: got[0], answer: got[1], ranges: [] };
    $("heads-grid-box").dataset.empty = "";
    clearError("heads");
    drawGrid(store.state);
    drawQuery(store.state);
    drawZoom(store.state);
    observed.timings.gridMs = performance.now() - t0;
    show("heads", key, { layers: got[1].layers, heads: got[1].heads, query: got[1].query, cells: $("heads-grid").querySelectorAll("button.cell").length });
  } catch (e) {
    slot.key = null;
    shown = null;
    $("heads-grid").replaceChildren();
    $("heads-grid-box").dataset.empty = "no maps";
    showError("heads", e);
  }
}

export function setupHeads(): void {
  for (const m of SCALES) $("heads-scale").append(new Option({ map: "each map its own", layer: "one per layer", view: "one for all" }[m], m));
  $("heads-scale").addEventListener("change", () => store.set({ scale: $<HTMLSelectElement>("heads-scale").value as ScaleMode }));
  $("heads-zero").addEventListener("change", () => store.set({ zero: $<HTMLInputElement>("heads-zero").checked }));
  const q = $<HTMLCanvasElement>("heads-query");
  q.addEventListener("click", (e) => {
    const p = patchAt(e, q, app.model.grid);
    store.set({ query: store.state.query === p ? null : p });
  });
  q.addEventListener("mousemove", (e) => {
    $("heads-query-info").title = patchText(patchAt(e, q, app.model.grid), app.model.grid);
  });
  $("heads-zoom-close").addEventListener("click", () => store.set({ zoom: null }));
}

/** Esc closes the enlarged map, then unpins; arrows move the query. */
export function headsKey(e: KeyboardEvent): void {
  const s = store.state;
  if (e.key === "Escape" && (s.zoom !== null || s.query !== null)) {
    store.set(s.zoom !== null ? { zoom: null } : { query: null });
    e.preventDefault();
    return;
  }
  if (s.query === null) return;
  const next = movePatch(s.query, e.key, app.model.grid);
  if (next !== null) {
    store.set({ query: next });
    e.preventDefault();
  }
}
