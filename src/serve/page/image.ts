// The image every view is about: picked from the sample gallery, a file or a drop; uploaded once;
// uploaded again when the server no longer holds it (LRU, restart); one name shown for it.
import { paths, type ImageAnswer, type Sample, type SamplesAnswer } from "../contract.js";
import { ApiFailure, getBlob, postBlob } from "./api.js";
import { $, el } from "./dom.js";
import { clearError, showError } from "./errors.js";
import { loadImage } from "./heat.js";
import { observed } from "./observe.js";
import { Slot } from "./slot.js";
import { store, type ImageRef, type PageState } from "./store.js";

/** The bytes behind the images this page uploaded (by id), so it can upload them again. */
const blobs = new Map<string, Blob>();
/** Each uploaded image's size in pixels, by id ("28x28"). */
const sizes = new Map<string, string>();
const views = new Map<string, Promise<HTMLImageElement>>();
const originals = new Map<string, Promise<HTMLImageElement>>();
let samples: SamplesAnswer = { classify: [], caption: [], notes: [] };
const upload = new Slot("upload", () => document.querySelector<HTMLElement>(".view:not([hidden])") ?? $("picker"));

/** The plain-words error when the server lost an image this page has no copy of. */
export const LOST = "the server no longer holds this image (it restarted, or dropped it to make room for newer uploads) and this page has no copy of it: choose the file again";

async function send(blob: Blob, signal?: AbortSignal): Promise<ImageAnswer> {
  const a = await postBlob<ImageAnswer>(paths.images, blob, signal);
  blobs.set(a.id, blob);
  sizes.set(a.id, `${a.width}x${a.height}`);
  if (blobs.size > 8) blobs.delete(blobs.keys().next().value!);
  return a;
}

/** A picked image: the views clear at once, the upload runs, then the views load for its id. */
export async function choose(blob: Blob, name: string, sample: string | null): Promise<void> {
  const ref: ImageRef = { id: null, name, sample };
  for (const v of ["classify", "heads", "dino", "caption"]) clearError(v);
  clearError("picker");
  store.set({ image: ref, query: null, zoom: null, word: 0, cls: null }, "push");
  const started = performance.now();
  observed.timings.chosenAt = started;
  delete observed.timings.sampleToOverlay;
  try {
    const a = await upload.load(`${name}/${blob.size}/${started}`, (signal) => send(blob, signal));
    if (!a || store.state.image !== ref) return; // another image was picked meanwhile
    observed.timings.uploaded = performance.now() - started;
    store.set({ image: { ...ref, id: a.id } }, "replace");
  } catch (e) {
    if (store.state.image !== ref) return;
    store.set({ image: null }, "replace");
    showError("picker", e);
  }
}

async function chooseSample(name: string): Promise<void> {
  const blob = await getBlob(paths.sample(name)).catch((e: Error) => {
    showError("picker", e);
    return null;
  });
  if (blob) await choose(blob, name, name);
}

/** After a reload or back / forward: a sample is fetched and uploaded again; an uploaded file keeps its id. */
export function restore(s: PageState): void {
  if (s.image && s.image.id === null && s.image.sample) void chooseSampleInPlace(s.image);
}

async function chooseSampleInPlace(ref: ImageRef): Promise<void> {
  try {
    const blob = await getBlob(paths.sample(ref.sample!));
    const a = await upload.load(`restore/${ref.sample}`, (signal) => send(blob, signal));
    if (a && store.state.image?.sample === ref.sample && store.state.image.id === null) store.set({ image: { ...store.state.image, id: a.id } }, "replace");
  } catch (e) {
    showError("picker", e);
  }
}

let recovering: Promise<string> | null = null;

/** Uploads the current image again (its bytes, or its sample file); its id, or a plain-words error. */
function recover(id: string): Promise<string> {
  recovering ??= (async () => {
    const ref = store.state.image;
    let blob = blobs.get(id) ?? null;
    if (!blob && ref?.sample) blob = await getBlob(paths.sample(ref.sample));
    if (!blob) throw new ApiFailure(LOST, "unknown-image", 404);
    observed.reuploads++;
    const a = await send(blob);
    if (store.state.image && store.state.image.id === id && a.id !== id) store.set({ image: { ...store.state.image, id: a.id } }, "none");
    return a.id;
  })().finally(() => {
    recovering = null;
  });
  return recovering;
}

/** Runs `call` for the image; when the server answers unknown-image, uploads the image again and runs it once more. */
export async function withImage<T>(id: string, call: (id: string) => Promise<T>): Promise<T> {
  try {
    return await call(id);
  } catch (e) {
    if (!(e instanceof ApiFailure && e.code === "unknown-image")) throw e;
    return call(await recover(id));
  }
}

/** The image as the classifier sees it (GET /api/images/ID), once per id. */
export function modelView(id: string): Promise<HTMLImageElement> {
  let p = views.get(id);
  if (!p) {
    p = withImage(id, (i) => getBlob(paths.image(i))).then((b) => loadImage(URL.createObjectURL(b)));
    p.catch(() => views.delete(id));
    views.set(id, p);
  }
  return p;
}

/** The picked image itself (the captioner's input differs from the classifier's), or the model's view when the page has no copy. */
export function original(id: string): Promise<HTMLImageElement> {
  const blob = blobs.get(id);
  if (!blob) return modelView(id);
  let p = originals.get(id);
  if (!p) {
    p = loadImage(URL.createObjectURL(blob));
    originals.set(id, p);
  }
  return p;
}

function gallery(list: Sample[], s: PageState): void {
  const box = $("samples");
  const names = list.map((x) => x.name).join("|");
  if (box.dataset.names !== names) {
    box.dataset.names = names;
    box.replaceChildren(...list.map((x) => {
      const b = el("button", { class: "sample", type: "button", title: `${x.name}${x.own ? " (the model's own kind of image)" : ""}`, "data-sample": x.name },
        el("img", { src: paths.sample(x.name), alt: x.name, loading: "lazy" }));
      b.addEventListener("click", () => void chooseSample(x.name));
      return b;
    }));
  }
  for (const b of box.querySelectorAll<HTMLElement>("button.sample")) b.classList.toggle("on", b.dataset.sample === s.image?.sample);
}

/** The picker as the state says: shown on views about an image, the gallery for the view's model, the image's name. */
export function renderPicker(s: PageState): void {
  const needs = ["classify", "heads", "dino", "caption"].includes(s.view);
  $("picker").hidden = !needs;
  if (!needs) return;
  gallery(s.view === "caption" ? samples.caption : samples.classify, s);
  $("sample-notes").textContent = samples.notes.join("; ");
  const name = $("image-name");
  if (!s.image) name.textContent = "no image yet: pick a sample, drop a file or choose one";
  else if (!s.image.id) name.textContent = `${s.image.name}: uploading…`;
  else name.textContent = sizes.has(s.image.id) ? `${s.image.name}: ${sizes.get(s.image.id)}` : s.image.name;
}

export function setupPicker(list: SamplesAnswer): void {
  samples = list;
  const file = $<HTMLInputElement>("file");
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    file.value = ""; // the input shows no name of its own: the page's label names the current image
    if (f) void choose(f, f.name, null);
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
    if (f) void choose(f, f.name, null);
  });
}
