// Caption: greedy or beam; the words as chips (each with its share on the encoder's CLS token);
// a word's cross-attention map large, every word's map in a strip, on one colour scale or each its own.
import { paths, type CaptionAnswer, type CaptionerInfo } from "../contract.js";
import { formatValue, sharedRanges } from "../scales.js";
import { postJson } from "./api.js";
import { app } from "./context.js";
import { $, el, setValue } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { colorbar, drawHeat, drawPlain, hiDpi, patchAt, patchText, updateColorbar } from "./heat.js";
import { original, withImage } from "./image.js";
import { forget, show } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type PageState } from "./store.js";

const slot = new Slot("caption", () => $("caption-box"));
let shown: { key: string; answer: CaptionAnswer; image: HTMLImageElement } | null = null;

const captioner = (): CaptionerInfo | null => ("error" in app.info.captioner ? null : app.info.captioner);

/**
 * The drawing's (width, height) for a longest side: square where the encoder saw a square (a ViT's
 * resized input: its grid is square), else the photo's own shape (CATR keeps the aspect ratio: its
 * grid follows the photo's, and a square would stretch both).
 */
function shapeFor(a: CaptionAnswer, image: HTMLImageElement): (side: number) => [number, number] {
  const aspect = a.grid[0] === a.grid[1] || !image.naturalWidth ? 1 : image.naturalHeight / image.naturalWidth; // height / width
  return (side) => (aspect >= 1 ? [Math.round(side / aspect), side] : [side, Math.round(side * aspect)]);
}

function draw(s: PageState): void {
  if (!shown) return;
  const { answer: a, image } = shown;
  const words = a.words ?? a.tokens;
  const mode = s.scale === "map" ? "map" : "view";
  const ranges = sharedRanges(a.maps.map((m) => ({ layer: a.layer, values: m })), mode, s.zero);
  const k = Math.min(s.word, words.length - 1);
  $("caption-text").textContent = `${a.caption}  (score ${a.score.toFixed(3)})`;
  $("chips").replaceChildren(...words.map((w, i) => {
    const chip = el("button", { class: `chip${i === k ? " on" : ""}`, type: "button" }, w,
      el("small", { title: "the share of this word's attention on the encoder's CLS token (not on any patch)" }, `CLS ${(100 * a.cls[i]).toFixed(0)}%`));
    chip.addEventListener("mouseenter", () => store.set({ word: i }));
    chip.addEventListener("click", () => store.set({ word: i }));
    return chip;
  }));
  const big = $<HTMLCanvasElement>("caption-canvas");
  const fit = shapeFor(a, image);
  hiDpi(big, ...fit(336));
  if (k >= 0) {
    drawHeat(big, a.maps[k], a.grid, { image, range: ranges[k] });
    updateColorbar($("caption-bar"), ranges[k], `"${words[k]}"`);
    big.onmousemove = (e) => {
      const p = patchAt(e, big, a.grid);
      $("caption-info").textContent = `"${words[k]}" · ${patchText(p, a.grid)}: ${formatValue(a.maps[k][p], ranges[k])}`;
    };
  } else drawPlain(big, image);
  $("caption-info").textContent = `decoder layer ${a.layer}, ${typeof a.head === "number" ? `head ${a.head}` : "mean of heads"}`;
  $("caption-strip").replaceChildren(...a.maps.map((m, i) => {
    const c = el("canvas");
    hiDpi(c, ...fit(96));
    drawHeat(c, m, a.grid, { image, range: ranges[i] });
    const fig = el("figure", { class: i === k ? "on" : "" }, c, el("figcaption", {}, words[i]));
    if (mode === "map") fig.append(colorbar(ranges[i]));
    fig.addEventListener("click", () => store.set({ word: i }));
    return fig;
  }));
  const bar = $("caption-strip-bar");
  bar.hidden = mode === "map";
  updateColorbar(bar, ranges[0] ?? null, "every word");
  show("caption.word", `${shown.key}/${k}`, { word: k });
}

export async function renderCaption(s: PageState, prev: PageState): Promise<void> {
  const info = captioner();
  setValue("beam", String(s.beam));
  if (info) setValue("cap-layer", String(s.capLayer ?? info.defaultLayer));
  setValue("cap-head", String(s.capHead));
  setValue("caption-scale", s.scale === "map" ? "map" : "view");
  $<HTMLInputElement>("caption-zero").checked = s.zero;
  if (s.view !== "caption") return;
  if (!info) {
    showError("caption", new Error(("error" in app.info.captioner && app.info.captioner.error) || "no captioner"));
    return;
  }
  const id = s.image?.id;
  if (!id) {
    slot.cancel();
    shown = null;
    $("caption-text").textContent = "";
    $("chips").replaceChildren();
    $("caption-strip").replaceChildren();
    drawPlain($<HTMLCanvasElement>("caption-canvas"), null);
    $("caption-box").dataset.empty = s.image ? "uploading…" : "choose an image";
    forget("caption");
    return;
  }
  const req = { beam: s.beam, layer: s.capLayer ?? info.defaultLayer, head: s.capHead };
  const key = JSON.stringify({ id, ...req });
  if (slot.key === key) {
    if (shown?.key === key && JSON.stringify([s.word, s.scale, s.zero]) !== JSON.stringify([prev.word, prev.scale, prev.zero])) draw(s);
    return;
  }
  try {
    const got = await slot.load(key, (signal) => Promise.all([original(id), withImage(id, (i) => postJson<CaptionAnswer>(paths.caption({ image: i, ...req }), signal))]));
    if (!got) return;
    shown = { key, image: got[0], answer: got[1] };
    $("caption-box").dataset.empty = "";
    clearError("caption");
    draw(store.state);
    show("caption", key, got[1]);
  } catch (e) {
    slot.key = null;
    shown = null;
    $("chips").replaceChildren();
    $("caption-strip").replaceChildren();
    showError("caption", e);
  }
}

export function setupCaption(): void {
  const info = captioner();
  $("caption-scale").append(new Option("each word its own", "map"), new Option("one for all words", "view"));
  $("caption-scale").addEventListener("change", () => store.set({ scale: $<HTMLSelectElement>("caption-scale").value as "map" | "view" }));
  $("caption-zero").addEventListener("change", () => store.set({ zero: $<HTMLInputElement>("caption-zero").checked }));
  if (!info) {
    for (const id of ["beam", "cap-layer", "cap-head"]) $<HTMLSelectElement>(id).disabled = true;
    return;
  }
  for (let l = 0; l < info.layers; l++) $("cap-layer").append(new Option(`layer ${l}${l === info.defaultLayer && info.defaultLayerWhy ? " (grounds best)" : l === info.layers - 1 ? " (last)" : ""}`, String(l)));
  $("cap-layer-why").textContent = info.defaultLayerWhy ? `starts on layer ${info.defaultLayer}: it ${info.defaultLayerWhy}` : "";
  for (let h = 0; h < info.heads; h++) $("cap-head").append(new Option(`head ${h}`, String(h)));
  $("beam").addEventListener("change", () => store.set({ beam: Number($<HTMLSelectElement>("beam").value), word: 0 }));
  $("cap-layer").addEventListener("change", () => {
    const l = Number($<HTMLSelectElement>("cap-layer").value);
    store.set({ capLayer: l === info.defaultLayer ? null : l });
  });
  $("cap-head").addEventListener("change", () => {
    const v = $<HTMLSelectElement>("cap-head").value;
    store.set({ capHead: v === "mean" ? "mean" : Number(v) });
  });
}
