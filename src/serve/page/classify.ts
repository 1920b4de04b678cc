// Classify: top-5, one overlay (CLS attention, rollout, attribution or token norms) with its colour
// bar; hover a patch for its attention row (CLS attention), click to pin it, Esc unpins, arrows move it.
import { paths, type AttentionAnswer, type AttentionParams, type PredictAnswer } from "../contract.js";
import { rangeOf, formatValue } from "../scales.js";
import { postJson } from "./api.js";
import { app, hasCls, layerOf, queryShort } from "./context.js";
import { $, el, setEnabled, setValue } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { drawHeat, drawPlain, hiDpi, movePatch, patchAt, patchText, updateColorbar } from "./heat.js";
import { modelView, withImage } from "./image.js";
import { forget, observed, show } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type PageState } from "./store.js";

const SIZE = 336;
const canvas = () => $<HTMLCanvasElement>("overlay");
const mapSlot = new Slot("classify.map", () => $("overlay-box"));
const hoverSlot = new Slot("classify.hover", () => $("overlay-box"));
const topSlot = new Slot("classify.top", () => $("top5-box"));

let base: { answer: AttentionAnswer; image: HTMLImageElement } | null = null;
let hover: { patch: number; answer: AttentionAnswer } | null = null;
let pointer = -1;

const headText = (h: AttentionParams["head"]) => (typeof h === "number" ? `head ${h}` : `${h} of heads`);

/** The request the state describes (a pinned query makes CLS attention the query's row). */
function request(s: PageState): AttentionParams {
  if (s.method === "rollout") return { method: "rollout", head: s.head, discardRatio: s.discard };
  if (s.method === "attribution") return { method: "attribution", ...(s.cls !== null ? { class: s.cls } : {}) };
  if (s.method === "norm") return { method: "norm", layer: layerOf(s.layer) };
  return s.query !== null ? { method: "raw", layer: layerOf(s.layer), head: s.head, query: s.query } : { method: "cls", layer: layerOf(s.layer), head: s.head };
}

function describe(a: AttentionAnswer): string {
  const labels = app.model.labels;
  if (a.method === "rollout") return `rollout over every layer, ${headText(a.head)}${a.discardRatio ? `, weakest ${(100 * a.discardRatio).toFixed(0)}% discarded` : ""}`;
  if (a.method === "attribution") return `attribution for "${labels[a.class!] ?? a.class}"${a.classFrom === "predicted" ? " (the predicted class)" : ""}`;
  if (a.method === "norm") {
    const named = (a.prefix ?? []).map((v, i) => `${app.model.prefix[i]} ${v.toFixed(1)}`).join(", ");
    return `token norm after layer ${a.layer}${named ? ` · ${named}` : ""}`;
  }
  const prefix = a.prefix && a.prefix.length && hasCls() ? ` · on CLS ${a.prefix[0].toFixed(4)}` : "";
  if (a.method === "raw") return `${patchText(a.query!, a.shape)} as query · layer ${a.layer}, ${headText(a.head)}${prefix}`;
  return `${hasCls() ? "CLS attention" : "attention of the mean patch row (no CLS token)"} · layer ${a.layer}, ${headText(a.head)}`;
}

function draw(): void {
  const s = store.state;
  const shown = hover && !s.query ? hover.answer : base?.answer;
  const info = $("overlay-info");
  if (!base || !shown) return;
  const range = rangeOf(shown.map, s.zero);
  hiDpi(canvas(), SIZE);
  drawHeat(canvas(), shown.map, shown.shape, { image: base.image, range, highlight: shown.query });
  updateColorbar($("overlay-bar"), range, shown.method === "attribution" ? "relevance" : shown.method === "norm" ? "token norm" : "attention");
  const at = pointer >= 0 && pointer < shown.map.length ? ` · ${patchText(pointer, shown.shape)}: ${formatValue(shown.map[pointer], range)}` : "";
  const hint = s.method === "cls" ? (s.query !== null ? " · Esc unpins, arrows move" : " · hover a patch for its row, click to pin") : ` · hover rows are for ${queryShort()} attention`;
  info.textContent = describe(shown) + at + hint;
}

function blank(word: string): void {
  base = null;
  hover = null;
  hiDpi(canvas(), SIZE);
  drawPlain(canvas(), null);
  $("overlay-box").dataset.empty = word;
  updateColorbar($("overlay-bar"), null);
  $("overlay-info").textContent = "";
  forget("classify.map");
}

async function loadMap(s: PageState): Promise<void> {
  const id = s.image?.id;
  if (!id) {
    mapSlot.cancel();
    blank(s.image ? "uploading…" : "choose an image");
    return;
  }
  const req = request(s);
  const key = JSON.stringify({ id, ...req });
  if (mapSlot.key === key) return draw();
  try {
    const got = await mapSlot.load(key, (signal) => Promise.all([
      modelView(id), withImage(id, (i) => postJson<AttentionAnswer>(paths.attention({ image: i, ...req }), signal)),
    ]));
    if (!got) return;
    [base, hover] = [{ image: got[0], answer: got[1] }, null];
    $("overlay-box").dataset.empty = "";
    clearError("classify");
    draw();
    show("classify.map", key, got[1]);
    if (observed.timings.chosenAt !== undefined && observed.timings.sampleToOverlay === undefined) observed.timings.sampleToOverlay = performance.now() - observed.timings.chosenAt;
  } catch (e) {
    mapSlot.key = null;
    blank("no map");
    showError("classify", e);
  }
}

async function loadTop(s: PageState): Promise<void> {
  const id = s.image?.id;
  const list = $("top5");
  if (app.model.numClasses === 0) return; // setupClassify said so
  if (!id) {
    topSlot.cancel();
    list.replaceChildren();
    forget("classify.top");
    return;
  }
  if (topSlot.key === id) return;
  try {
    const a = await topSlot.load(id, (signal) => withImage(id, (i) => postJson<PredictAnswer>(paths.predict(i), signal)));
    if (!a) return;
    list.replaceChildren(...a.top.map((t) => el("li", {}, el("span", { class: "score" }, `${(100 * t.score).toFixed(2)}%`), ` ${t.label} (${t.index})`)));
    show("classify.top", id, a.top);
    renderClassMenu(a);
  } catch (e) {
    topSlot.key = null;
    list.replaceChildren();
    showError("classify", e);
  }
}

/** The class menu starts on the predicted class, named. */
function renderClassMenu(a: PredictAnswer | null): void {
  const first = $<HTMLSelectElement>("class").options[0];
  first.textContent = a ? `the predicted class: ${a.top[0].label} (${a.top[0].index})` : "the predicted class";
}

async function hoverAt(patch: number): Promise<void> {
  const s = store.state;
  const id = s.image?.id;
  pointer = patch;
  if (!id || !base || s.method !== "cls" || s.query !== null) return draw();
  if (hover?.patch === patch) return draw();
  const req: AttentionParams = { method: "raw", layer: layerOf(s.layer), head: s.head, query: patch };
  const key = JSON.stringify({ id, ...req });
  const t0 = performance.now();
  const a = await hoverSlot.load(key, (signal) => withImage(id, (i) => postJson<AttentionAnswer>(paths.attention({ image: i, ...req }), signal))).catch((e) => {
    showError("classify", e);
    return null;
  });
  if (!a || pointer !== patch || store.state.query !== null) return;
  hover = { patch, answer: a };
  observed.timings.hoverToMap = performance.now() - t0;
  draw();
  show("classify.hover", key, a);
}

function leave(): void {
  pointer = -1;
  hoverSlot.cancel();
  hover = null;
  forget("classify.hover");
  draw();
}

function exportLinks(s: PageState): void {
  const id = s.image?.id;
  for (const format of ["png", "json"] as const) {
    const a = $<HTMLAnchorElement>(`classify-${format}`);
    a.hidden = !id;
    if (id) a.href = paths.exportFile(format, id, { ...request(s), zero: s.zero });
  }
}

export function renderClassify(s: PageState, prev: PageState): void {
  const m = app.model;
  setValue("method", s.method);
  setValue("layer", String(layerOf(s.layer)));
  $("layer-value").textContent = `${layerOf(s.layer)} (0..${m.layers - 1})`;
  setValue("head", String(s.head));
  setValue("discard", String(s.discard));
  $("discard-value").textContent = s.discard.toFixed(2);
  setValue("class", s.cls === null ? "" : String(s.cls));
  $<HTMLInputElement>("zero").checked = s.zero;
  setEnabled("layer", s.method === "cls" || s.method === "norm", "rollout and attribution span every layer");
  setEnabled("head", s.method !== "attribution" && s.method !== "norm", s.method === "norm" ? "a token's norm has no heads" : "attribution weighs every head");
  setEnabled("discard", s.method === "rollout", "only rollout discards the weakest attentions");
  setEnabled("class", s.method === "attribution", "only attribution explains a class");
  $<HTMLOptionElement>("method-attribution").disabled = m.numClasses === 0;
  if (s.image?.id !== prev.image?.id) renderClassMenu(null);
  exportLinks(s);
  if (s.view !== "classify") return;
  void loadTop(s);
  void loadMap(s);
}

export function setupClassify(): void {
  const m = app.model;
  const layer = $<HTMLInputElement>("layer");
  layer.max = String(m.layers - 1);
  for (let h = 0; h < m.heads; h++) $("head").append(new Option(`head ${h}`, String(h)));
  m.labels.forEach((label, i) => $("class").append(new Option(`${i}: ${label}`, String(i))));
  if (!hasCls()) $("method").querySelector("option[value=cls]")!.textContent = "patch-mean attention (no CLS token)";
  if (m.numClasses === 0) $("top5").replaceChildren(el("li", { class: "note" }, "a backbone: no classification head, nothing to predict"));
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  $("method").addEventListener("change", () => store.set({ method: $<HTMLSelectElement>("method").value as PageState["method"] }));
  layer.addEventListener("input", () => store.set({ layer: num("layer") === m.layers - 1 ? null : num("layer") }));
  $("head").addEventListener("change", () => {
    const v = $<HTMLSelectElement>("head").value;
    store.set({ head: /^\d+$/.test(v) ? Number(v) : (v as "mean") });
  });
  $("discard").addEventListener("input", () => store.set({ discard: num("discard") }));
  $("class").addEventListener("change", () => store.set({ cls: $<HTMLSelectElement>("class").value === "" ? null : num("class") }));
  $("zero").addEventListener("change", () => store.set({ zero: $<HTMLInputElement>("zero").checked }));
  const c = canvas();
  hiDpi(c, SIZE);
  c.addEventListener("mousemove", (e) => void hoverAt(patchAt(e, c, m.grid)));
  c.addEventListener("mouseleave", leave);
  c.addEventListener("click", (e) => {
    if (store.state.method !== "cls") return;
    const p = patchAt(e, c, m.grid);
    store.set({ query: store.state.query === p ? null : p });
  });
}

/** Esc unpins, arrows move the pinned query (classify). */
export function classifyKey(e: KeyboardEvent): void {
  const s = store.state;
  if (s.query === null) return;
  if (e.key === "Escape") {
    store.set({ query: null });
    e.preventDefault();
    return;
  }
  const next = movePatch(s.query, e.key, app.model.grid);
  if (next !== null) {
    store.set({ query: next });
    e.preventDefault();
  }
}
