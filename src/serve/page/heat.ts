// Maps on canvases: the server's colormap, sharp on any display (backing store x devicePixelRatio),
// a colour bar beside every map, the value under the pointer.
import { formatValue, unit } from "../scales.js";
import { el } from "./dom.js";

let lut: number[] = [];

export function setColormap(values: number[]): void {
  lut = values;
}

export const colorOf = (t: number): [number, number, number] => {
  const k = Math.round(Math.min(Math.max(t, 0), 1) * 255) * 3;
  return [lut[k], lut[k + 1], lut[k + 2]];
};

/** Sizes the canvas's backing store to its CSS size times the display's pixel ratio; returns the CSS size. */
export function hiDpi(canvas: HTMLCanvasElement, cssWidth: number, cssHeight = cssWidth): { w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = [Math.round(cssWidth * dpr), Math.round(cssHeight * dpr)];
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  return { w, h };
}

/** The map as a (gw x gh) picture, one pixel per patch, coloured on `range`. */
function mapPicture(map: ArrayLike<number>, [gh, gw]: [number, number], range: [number, number]): HTMLCanvasElement {
  const c = document.createElement("canvas");
  [c.width, c.height] = [gw, gh];
  const ctx = c.getContext("2d")!;
  const img = ctx.createImageData(gw, gh);
  for (let i = 0; i < gh * gw; i++) img.data.set([...colorOf(unit(map[i], range)), 255], i * 4);
  ctx.putImageData(img, 0, 0);
  return c;
}

export interface HeatOptions {
  image?: CanvasImageSource | null;
  /** The map's opacity over the image. */
  alpha?: number;
  range: [number, number];
  /** A patch to outline (the query). */
  highlight?: number | null;
  /** 1: kept; patches with 0 are dimmed (DINO's threshold). */
  mask?: ArrayLike<number> | null;
  /** Smooth upsampling (the default) or one block per patch. */
  smooth?: boolean;
}

/** The image, then the map over it (alpha-blended, upsampled), masked patches dimmed, the highlight outlined. */
export function drawHeat(canvas: HTMLCanvasElement, map: ArrayLike<number>, shape: [number, number], o: HeatOptions): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  const [gh, gw] = shape;
  ctx.clearRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = true;
  if (o.image) ctx.drawImage(o.image, 0, 0, W, H);
  ctx.globalAlpha = o.image ? (o.alpha ?? 0.55) : 1;
  ctx.imageSmoothingEnabled = o.smooth ?? true;
  ctx.drawImage(mapPicture(map, shape, o.range), 0, 0, W, H);
  ctx.globalAlpha = 1;
  if (o.mask) {
    ctx.fillStyle = "rgba(0,0,0,0.62)";
    for (let p = 0; p < gh * gw; p++) if (!o.mask[p]) ctx.fillRect(Math.floor(((p % gw) * W) / gw), Math.floor((Math.floor(p / gw) * H) / gh), Math.ceil(W / gw), Math.ceil(H / gh));
  }
  if (o.highlight !== undefined && o.highlight !== null && o.highlight >= 0) {
    ctx.strokeStyle = "#0ff";
    ctx.lineWidth = Math.max(2, W / 200);
    ctx.strokeRect((o.highlight % gw) * (W / gw), Math.floor(o.highlight / gw) * (H / gh), W / gw, H / gh);
  }
}

/** Just the image (no map yet), or a neutral square with a word when there is none. */
export function drawPlain(canvas: HTMLCanvasElement, image: CanvasImageSource | null): void {
  const ctx = canvas.getContext("2d")!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (image) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
}

/**
 * A colour bar: the colormap from the range's low end to its high end, the two values beside
 * it in fixed-width boxes (the bar does not move as they change).
 */
export function colorbar(range: [number, number] | null, label = ""): HTMLElement {
  const bar = el("div", { class: "cbar" });
  updateColorbar(bar, range, label);
  return bar;
}

export function updateColorbar(bar: HTMLElement, range: [number, number] | null, label = ""): void {
  if (!bar.firstChild) {
    const canvas = el("canvas", { width: "128", height: "1" });
    const ctx = canvas.getContext("2d")!;
    for (let x = 0; x < 128; x++) {
      const [r, g, b] = colorOf(x / 127);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(x, 0, 1, 1);
    }
    bar.append(el("span", { class: "lo" }), canvas, el("span", { class: "hi" }), el("span", { class: "what" }));
  }
  bar.classList.toggle("empty", range === null);
  const [lo, hi] = bar.querySelectorAll("span");
  lo.textContent = range ? formatValue(range[0], range) : "";
  hi.textContent = range ? formatValue(range[1], range) : "";
  bar.querySelector(".what")!.textContent = label;
  bar.dataset.range = range ? range.join(",") : "";
}

/** The patch under a pointer event on an element showing a (gh, gw) grid. */
export function patchAt(e: MouseEvent, target: HTMLElement, [gh, gw]: [number, number]): number {
  const r = target.getBoundingClientRect();
  const col = Math.min(gw - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * gw)));
  const row = Math.min(gh - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * gh)));
  return row * gw + col;
}

/** A patch's place in words. */
export const patchText = (p: number, [gh, gw]: [number, number]) => `patch ${p} (row ${Math.floor(p / gw)}, col ${p % gw} of ${gh}x${gw})`;

/** The patch the arrow keys lead to from `p` (null: not an arrow key). */
export function movePatch(p: number, key: string, [gh, gw]: [number, number]): number | null {
  const [r, c] = [Math.floor(p / gw), p % gw];
  if (key === "ArrowLeft") return r * gw + Math.max(0, c - 1);
  if (key === "ArrowRight") return r * gw + Math.min(gw - 1, c + 1);
  if (key === "ArrowUp") return Math.max(0, r - 1) * gw + c;
  if (key === "ArrowDown") return Math.min(gh - 1, r + 1) * gw + c;
  return null;
}

export function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not show ${src}`));
    img.src = src;
  });
}
