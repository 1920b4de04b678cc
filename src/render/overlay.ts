import sharp, { type OverlayOptions } from "sharp";
import type { RawImage } from "../data/raw-image.js";
import { colorize, type ColormapName } from "./colormap.js";
import { textStrip } from "./text.js";
import { upsampleBilinear, upsampleNearest } from "./upsample.js";

/** A patch-grid map (gh, gw) over an image: what explain/ returns, laid out for drawing. */
export interface GridMap {
  values: ArrayLike<number>;
  rows: number;
  cols: number;
}

/**
 * The map upsampled (bilinear) to the image, colored with a perceptual colormap scaled to the
 * map's own range (or the given one, shared by several maps), and alpha-blended over the image: RGB (H, W, 3).
 */
export function blendHeat(img: RawImage, map: GridMap, alpha = 0.5, cmap: ColormapName = "inferno", range?: [number, number]): RawImage {
  const up = upsampleBilinear(map.values, map.rows, map.cols, img.height, img.width);
  const heat = colorize(up, cmap, range);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((1 - alpha) * img.data[i] + alpha * heat[i]);
  return { data, height: img.height, width: img.width };
}

/** A 0/1 patch mask over the image (DINO's thresholded attention): kept patches as they are, the rest dimmed to a quarter. */
export function blendMask(img: RawImage, map: GridMap): RawImage {
  const up = upsampleNearest(map.values, map.rows, map.cols, img.height, img.width);
  const data = new Uint8Array(img.data.length);
  for (let p = 0; p < up.length; p++) for (let ch = 0; ch < 3; ch++) data[3 * p + ch] = up[p] > 0.5 ? img.data[3 * p + ch] : Math.round(img.data[3 * p + ch] / 4);
  return { data, height: img.height, width: img.width };
}

export async function rawToPng(img: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}

export interface Tile {
  image: RawImage;
  title: string;
}

/**
 * Tiles in a grid, each scaled to `tileSize` wide (nearest-neighbour for small images, so patch
 * borders stay visible) with its title above; an optional caption across the bottom.
 */
export async function tileGrid(tiles: Tile[], columns: number, tileSize: number, caption?: string): Promise<Buffer> {
  const titleH = 22;
  const pad = 6;
  const scale = tileSize / tiles[0].image.width;
  const tileH = Math.round(tiles[0].image.height * scale);
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * (tileSize + pad) + pad;
  const captionH = caption ? 28 : 0;
  const height = rows * (tileH + titleH + pad) + pad + captionH;
  const layers: OverlayOptions[] = [];
  for (let i = 0; i < tiles.length; i++) {
    const x = pad + (i % cols) * (tileSize + pad);
    const y = pad + Math.floor(i / cols) * (tileH + titleH + pad);
    const t = tiles[i];
    const kernel = t.image.width < tileSize / 2 ? "nearest" : "lanczos3";
    const png = await sharp(Buffer.from(t.image.data), { raw: { width: t.image.width, height: t.image.height, channels: 3 } })
      .resize(tileSize, tileH, { kernel, fit: "fill" })
      .png()
      .toBuffer();
    layers.push({ input: textStrip(t.title, tileSize, titleH, 13), left: x, top: y });
    layers.push({ input: png, left: x, top: y + titleH });
  }
  if (caption) layers.push({ input: textStrip(caption, width, captionH, 15), left: 0, top: height - captionH });
  return sharp({ create: { width, height, channels: 3, background: "#ffffff" } }).composite(layers).png().toBuffer();
}

/** The image as the model saw it (resized to its input size), enlarged to >= 224 px wide for viewing. */
export async function displayImage(path: string, size: [number, number]): Promise<RawImage> {
  const scale = Math.max(1, Math.ceil(224 / size[1]));
  const [h, w] = [size[0] * scale, size[1] * scale];
  const small = await sharp(path).removeAlpha().toColourspace("srgb").resize(size[1], size[0], { fit: "fill" }).raw().toBuffer();
  const data = await sharp(small, { raw: { width: size[1], height: size[0], channels: 3 } }).resize(w, h, { kernel: scale > 2 ? "nearest" : "lanczos3" }).raw().toBuffer();
  return { data: new Uint8Array(data), height: h, width: w };
}
