// The page's state in one object, mirrored in the URL: a reload, back / forward and a shared link
// give the same view. Views derive everything they show from it.
import { FUSIONS, SCALES, type HeadFusion, type ScaleMode } from "../contract.js";
import { observed } from "./observe.js";

export const VIEWS = ["classify", "heads", "dino", "posemb", "caption", "runs"] as const;
export type View = (typeof VIEWS)[number];
export const MAP_METHODS = ["cls", "rollout", "attribution", "norm"] as const;
export type MapMethod = (typeof MAP_METHODS)[number];
export const X_AXES = ["step", "epoch", "time"] as const;
export type XAxis = (typeof X_AXES)[number];

export interface ImageRef {
  /** The server's id; null while the image is being uploaded. */
  id: string | null;
  name: string;
  /** The bundled sample it is, if it is one (a reload fetches it again). */
  sample: string | null;
}

export interface PageState {
  view: View;
  image: ImageRef | null;
  method: MapMethod;
  /** null: the last layer. */
  layer: number | null;
  head: HeadFusion;
  /** attribution's class; null: the predicted one. */
  cls: number | null;
  discard: number;
  /** A pinned query patch (classify and heads); null: none. */
  query: number | null;
  zero: boolean;
  scale: ScaleMode;
  /** heads: the enlarged map, "layer,head". */
  zoom: string | null;
  keep: number;
  opacity: number;
  mask: boolean;
  /** dino: the head shown large. */
  dinoHead: HeadFusion;
  /** posemb: the patch shown large. */
  patch: number | null;
  beam: number;
  /** null: the captioner's default layer. */
  capLayer: number | null;
  capHead: number | "mean";
  word: number;
  runs: string[];
  focus: string | null;
  x: XAxis;
  smooth: number;
  log: boolean;
}

export const DEFAULTS: PageState = {
  view: "classify", image: null, method: "cls", layer: null, head: "mean", cls: null, discard: 0, query: null, zero: true, scale: "layer", zoom: null,
  keep: 0.6, opacity: 0.55, mask: true, dinoHead: "mean", patch: null, beam: 1, capLayer: null, capHead: "mean", word: 0,
  runs: [], focus: null, x: "step", smooth: 0.6, log: false,
};

// URL <-> state: each field its own reader; what does not parse keeps the default.
const int = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
const num = (lo: number, hi: number) => (s: string) => (Number.isFinite(Number(s)) && Number(s) >= lo && Number(s) <= hi && s !== "" ? Number(s) : undefined);
const oneOf = <T extends string>(list: readonly T[]) => (s: string) => (list.includes(s as T) ? (s as T) : undefined);
const head = (s: string): HeadFusion | undefined => oneOf(FUSIONS)(s) ?? int(s);
const flag = (s: string) => (s === "1" ? true : s === "0" ? false : undefined);
const READERS: { [K in keyof PageState]?: (s: string) => PageState[K] | undefined } = {
  view: oneOf(VIEWS), method: oneOf(MAP_METHODS), layer: int, head, cls: int, discard: num(0, 0.95), query: int, zero: flag, scale: oneOf(SCALES),
  zoom: (s) => (/^\d+,(\d+|mean|max|min)$/.test(s) ? s : undefined), keep: num(0.01, 1), opacity: num(0, 1), mask: flag, dinoHead: head, patch: int,
  beam: (s) => (int(s) !== undefined && int(s)! >= 1 && int(s)! <= 16 ? int(s) : undefined), capLayer: int, capHead: (s) => (s === "mean" ? "mean" : int(s)),
  word: int, runs: (s) => s.split(",").filter(Boolean), focus: (s) => s || undefined, x: oneOf(X_AXES), smooth: num(0, 0.99), log: flag,
};

export function parseUrl(search: string): PageState {
  const q = new URLSearchParams(search);
  const state: PageState = { ...DEFAULTS, runs: [] };
  for (const [k, read] of Object.entries(READERS) as Array<[keyof PageState, (s: string) => unknown]>) {
    const v = q.get(k);
    if (v === null) continue;
    const parsed = read(v);
    if (parsed !== undefined) (state as unknown as Record<string, unknown>)[k] = parsed;
  }
  const name = q.get("name");
  const sample = q.get("sample");
  const id = q.get("image");
  if (sample || id) state.image = { id: id || null, name: name ?? sample ?? "image", sample: sample || null };
  return state;
}

export function toUrl(s: PageState): string {
  const q = new URLSearchParams();
  for (const k of Object.keys(READERS) as Array<keyof PageState>) {
    const v = s[k];
    const d = DEFAULTS[k];
    if (JSON.stringify(v) === JSON.stringify(d)) continue;
    q.set(k, Array.isArray(v) ? v.join(",") : typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  if (s.image) {
    if (s.image.sample) q.set("sample", s.image.sample);
    else {
      if (s.image.id) q.set("image", s.image.id);
      q.set("name", s.image.name);
    }
  }
  const text = q.toString();
  return text ? `?${text}` : location.pathname;
}

type Listener = (s: PageState, prev: PageState) => void;

/** The one state object: set() changes it, mirrors it in the URL, and tells the views. */
class Store {
  private current: PageState = parseUrl(location.search);
  private listeners: Listener[] = [];

  get state(): PageState {
    return this.current;
  }

  /** `push`: a step the back button returns to (a new view or image); else the URL is replaced. */
  set(patch: Partial<PageState>, history: "push" | "replace" | "none" = "replace"): void {
    const prev = this.current;
    this.current = { ...prev, ...patch };
    const url = toUrl(this.current);
    if (history === "push" && url !== toUrl(prev)) window.history.pushState(null, "", url);
    else if (history !== "none") window.history.replaceState(null, "", url);
    this.emit(prev);
  }

  subscribe(f: Listener): void {
    this.listeners.push(f);
  }

  /** Back / forward: the state the URL now holds. */
  fromUrl(): void {
    const prev = this.current;
    this.current = parseUrl(location.search);
    // The same image (by sample or name) keeps the id the page already has.
    const a = prev.image;
    const b = this.current.image;
    if (a && b && b.id === null && a.sample !== null && a.sample === b.sample) b.id = a.id;
    this.emit(prev);
  }

  private emit(prev: PageState): void {
    observed.state = this.current;
    for (const f of this.listeners) f(this.current, prev);
  }
}

export const store = new Store();
