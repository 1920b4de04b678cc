// Drawing maps on canvases: the server's colormap, bilinear upsampling by the canvas itself.

let lut: number[] = [];

export function setColormap(values: number[]): void {
  lut = values;
}

export function range(map: ArrayLike<number>): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < map.length; i++) [lo, hi] = [Math.min(lo, map[i]), Math.max(hi, map[i])];
  return [lo, hi];
}

/** The map as a (gw x gh) picture, one pixel per patch, scaled to its own range. */
function mapPicture(map: ArrayLike<number>, [gh, gw]: [number, number]): HTMLCanvasElement {
  const [lo, hi] = range(map);
  const c = document.createElement("canvas");
  [c.width, c.height] = [gw, gh];
  const ctx = c.getContext("2d")!;
  const img = ctx.createImageData(gw, gh);
  for (let i = 0; i < gh * gw; i++) {
    const k = Math.round(Math.min(Math.max((map[i] - lo) / (hi - lo || 1), 0), 1) * 255) * 3;
    img.data.set([lut[k], lut[k + 1], lut[k + 2], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

export interface HeatOptions {
  image?: HTMLImageElement | null;
  alpha?: number;
  /** A patch to outline (the hovered one). */
  highlight?: number;
  smooth?: boolean;
}

/** The image, then the map over it (alpha-blended, upsampled), then an outline on `highlight`. */
export function drawHeat(canvas: HTMLCanvasElement, map: ArrayLike<number>, shape: [number, number], o: HeatOptions = {}): void {
  const ctx = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  ctx.clearRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = false;
  if (o.image) ctx.drawImage(o.image, 0, 0, W, H);
  ctx.globalAlpha = o.image ? (o.alpha ?? 0.55) : 1;
  ctx.imageSmoothingEnabled = o.smooth ?? true;
  ctx.drawImage(mapPicture(map, shape), 0, 0, W, H);
  ctx.globalAlpha = 1;
  if (o.highlight !== undefined && o.highlight >= 0) {
    const [gh, gw] = shape;
    ctx.strokeStyle = "#0ff";
    ctx.lineWidth = 2;
    ctx.strokeRect((o.highlight % gw) * (W / gw), Math.floor(o.highlight / gw) * (H / gh), W / gw, H / gh);
  }
}

export function drawColorbar(canvas: HTMLCanvasElement, lo: number, hi: number, minLabel: HTMLElement, maxLabel: HTMLElement): void {
  const ctx = canvas.getContext("2d")!;
  for (let x = 0; x < canvas.width; x++) {
    const k = Math.round((x / (canvas.width - 1)) * 255) * 3;
    ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
    ctx.fillRect(x, 0, 1, canvas.height);
  }
  minLabel.textContent = lo.toPrecision(3);
  maxLabel.textContent = hi.toPrecision(3);
}

/** The patch under a mouse event on a canvas showing a (gh, gw) grid. */
export function patchAt(e: MouseEvent, canvas: HTMLCanvasElement, [gh, gw]: [number, number]): number {
  const r = canvas.getBoundingClientRect();
  const col = Math.min(gw - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * gw)));
  const row = Math.min(gh - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * gh)));
  return row * gw + col;
}

/** A small titled canvas for strips and grids. */
export function figure(parent: HTMLElement, title: string, size = 96): HTMLCanvasElement {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [size, size];
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(canvas, cap);
  parent.append(fig);
  return canvas;
}

export function loadImageElement(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = src;
  });
}
