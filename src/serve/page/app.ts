// The explorer page: wires the image picker and the four views to the JSON API.
import { $, getJson, observed, postImage, showError, type Info } from "./api.js";
import { refreshCaption, setupCaption } from "./caption.js";
import { predict, refreshMap, setupClassify } from "./classify.js";
import { loadImageElement, setColormap } from "./heat.js";
import { showPosemb } from "./posemb.js";
import { showRuns } from "./runs.js";
import { state } from "./state.js";

let view = "classify";

async function useImage(blob: Blob, name: string): Promise<void> {
  state.uploadStart = performance.now();
  delete observed.timings.firstOverlay;
  try {
    const { id, width, height } = await postImage(blob);
    observed.timings.uploaded = performance.now() - state.uploadStart;
    state.imageId = id;
    [state.modelView, state.original] = await Promise.all([loadImageElement(`/api/images/${id}`), loadImageElement(URL.createObjectURL(blob))]);
    observed.timings.imagesShown = performance.now() - state.uploadStart;
    $("image-info").textContent = `${name}: ${width}x${height}`;
    showError(null);
    await refreshView();
  } catch (e) {
    showError((e as Error).message);
  }
}

async function refreshView(): Promise<void> {
  if (view === "classify" && state.imageId) {
    await Promise.all([predict().catch((e: Error) => showError(e.message)), refreshMap()]);
  } else if (view === "caption") await refreshCaption();
  else if (view === "posemb") await showPosemb();
  else if (view === "runs") await showRuns();
}

async function start(): Promise<void> {
  const [info, cmap, samples] = await Promise.all([
    getJson<Info>("/api/info"), getJson<{ lut: number[] }>("/api/colormap"), getJson<{ samples: string[] }>("/api/samples"),
  ]);
  state.info = info;
  setColormap(cmap.lut);
  const m = info.model;
  $("model-info").textContent = `${m.source.split("/").slice(-2).join("/")}: ${m.layers} layers, ${m.heads} heads, ${m.grid[0]}x${m.grid[1]} patches`;
  setupClassify();
  setupCaption();
  const sample = $<HTMLSelectElement>("sample");
  for (const s of samples.samples) sample.append(new Option(s, s));
  sample.addEventListener("change", async () => {
    if (!sample.value) return;
    const res = await fetch(`/samples/${sample.value}`);
    await useImage(await res.blob(), sample.value);
  });
  const file = $<HTMLInputElement>("file");
  file.addEventListener("change", () => {
    if (file.files?.[0]) void useImage(file.files[0], file.files[0].name);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void useImage(f, f.name);
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
    b.addEventListener("click", () => {
      view = b.dataset.view!;
      document.querySelectorAll("nav button").forEach((x) => x.classList.toggle("active", x === b));
      document.querySelectorAll<HTMLElement>(".view").forEach((v) => (v.hidden = v.id !== `view-${view}`));
      void refreshView();
    });
  }
  document.body.dataset.ready = "1";
}

start().catch((e: Error) => showError(`the explorer could not start: ${e.message}`));
