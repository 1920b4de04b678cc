// The explorer page: one state (store.ts), mirrored in the URL; each view derives what it shows from it.
import { paths, type InfoAnswer, type SamplesAnswer } from "../contract.js";
import { getJson } from "./api.js";
import { renderCaption, setupCaption } from "./caption.js";
import { classifyKey, renderClassify, setupClassify } from "./classify.js";
import { app } from "./context.js";
import { renderDino, setupDino } from "./dino.js";
import { $ } from "./dom.js";
import { setupErrors, showError } from "./errors.js";
import { headsKey, renderHeads, setupHeads } from "./heads.js";
import { setColormap } from "./heat.js";
import { renderPicker, restore, setupPicker } from "./image.js";
import { observed } from "./observe.js";
import { renderPosemb } from "./posemb.js";
import { renderRuns, setupRuns } from "./runs.js";
import { store, VIEWS, type PageState, type View } from "./store.js";

function render(s: PageState, prev: PageState): void {
  document.querySelectorAll<HTMLButtonElement>("nav button").forEach((b) => b.classList.toggle("active", b.dataset.view === s.view));
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== s.view;
  renderPicker(s);
  renderClassify(s, prev);
  void renderHeads(s, prev);
  void renderDino(s, prev);
  void renderPosemb(s);
  void renderCaption(s, prev);
  renderRuns(s);
}

async function start(): Promise<void> {
  setupErrors();
  const [info, cmap, samples] = await Promise.all([getJson<InfoAnswer>(paths.info), getJson<{ lut: number[] }>(paths.colormap), getJson<SamplesAnswer>(paths.samples)]);
  app.info = info;
  setColormap(cmap.lut);
  const m = info.model;
  $("model-info").textContent = `${m.source.split("/").slice(-2).join("/")}: ${m.layers} layers, ${m.heads} heads, ${m.grid[0]}x${m.grid[1]} patches${m.prefix.length > 1 ? `, ${m.prefix.length - 1} more token${m.prefix.length > 2 ? "s" : ""} before them (${m.prefix.slice(1).join(", ")})` : ""}`;
  setupPicker(samples);
  setupClassify();
  setupHeads();
  setupDino();
  setupCaption();
  setupRuns();
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.addEventListener("click", () => store.set({ view: b.dataset.view as View }, "push"));
  window.addEventListener("popstate", () => {
    store.fromUrl();
    restore(store.state);
  });
  document.addEventListener("keydown", (e) => {
    if ((e.target as HTMLElement).closest("input, select, textarea")) return;
    if (store.state.view === "classify") classifyKey(e);
    if (store.state.view === "heads") headsKey(e);
  });
  store.subscribe(render);
  const s = store.state;
  observed.state = s;
  render(s, { ...s, image: null });
  restore(s);
  document.body.dataset.ready = "1";
}

start().catch((e: Error) => showError("picker", new Error(`the explorer could not start: ${e.message}`)));
