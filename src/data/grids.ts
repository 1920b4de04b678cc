import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "../io/atomic-write.js";
import { Rng } from "../random.js";
import type { Dataset } from "./datasets.js";

/** One-token names of the Fashion-MNIST classes, as they appear in captions. */
export const FASHION_WORDS = ["top", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"];

export interface GridOptions {
  count: number;
  grid: number; // cells per side (2 or 3)
  seed: number;
  split: string; // images go to <out>/<split>/, captions to <out>/<split>.json
}

/** A grounded item: which class, and in which grid cell and pixel box it lies. */
export interface GridItem {
  image_id: number;
  label: number;
  word: string;
  cell: [number, number]; // (row, column)
  box: [number, number, number, number]; // [x, y, width, height] in pixels
}

/** COCO captions plus vitlens' `items` (ignored by COCO tools) and the grid geometry. */
export interface GridCaptions {
  info: { description: string; grid: number; cell: number };
  images: Array<{ id: number; file_name: string; width: number; height: number }>;
  annotations: Array<{ id: number; image_id: number; caption: string }>;
  items: GridItem[];
}

/**
 * Captions with a known answer for "where did it look": two real items (e.g. Fashion-MNIST)
 * in neighbouring cells of a grid x grid canvas, captioned by their relation — "a bag above a
 * sneaker", "a coat left of a dress" — always naming the top or left item first, so each image
 * has one correct caption. The other cells stay empty (faint noise).
 */
export async function writeGrids(source: Dataset, out: string, o: GridOptions): Promise<GridCaptions> {
  const cell = 28;
  const side = o.grid * cell;
  mkdirSync(join(out, o.split), { recursive: true });
  const rng = new Rng(o.seed);
  const pick = () => Math.floor(rng.next() * source.size);
  const word = (label: number) => FASHION_WORDS[label] ?? `class${label}`;
  const result: GridCaptions = { info: { description: `vitlens grounded grid captions (${o.grid}x${o.grid}) from ${source.description}`, grid: o.grid, cell }, images: [], annotations: [], items: [] };
  for (let id = 0; id < o.count; id++) {
    const horizontal = rng.next() < 0.5;
    const r0 = Math.floor(rng.next() * (horizontal ? o.grid : o.grid - 1));
    const c0 = Math.floor(rng.next() * (horizontal ? o.grid - 1 : o.grid));
    const cells: Array<[number, number]> = [[r0, c0], horizontal ? [r0, c0 + 1] : [r0 + 1, c0]];
    const canvas = new Uint8Array(side * side);
    for (let i = 0; i < canvas.length; i++) canvas[i] = Math.floor(rng.next() * 24);
    const labels: number[] = [];
    for (const [r, c] of cells) {
      const index = pick();
      const img = await source.raw(index);
      labels.push(source.labels[index]);
      for (let y = 0; y < Math.min(cell, img.height); y++) {
        for (let x = 0; x < Math.min(cell, img.width); x++) {
          const at = (r * cell + y) * side + c * cell + x;
          canvas[at] = Math.max(canvas[at], img.data[(y * img.width + x) * 3]);
        }
      }
      result.items.push({ image_id: id, label: source.labels[index], word: word(source.labels[index]), cell: [r, c], box: [c * cell, r * cell, cell, cell] });
    }
    const file = `${o.split}/${String(id).padStart(5, "0")}.png`;
    writeFileAtomic(join(out, file), [await sharp(Buffer.from(canvas), { raw: { width: side, height: side, channels: 1 } }).png().toBuffer()]);
    result.images.push({ id, file_name: file, width: side, height: side });
    const caption = `a ${word(labels[0])} ${horizontal ? "left of" : "above"} a ${word(labels[1])}`;
    result.annotations.push({ id, image_id: id, caption });
  }
  writeFileAtomic(join(out, `${o.split}.json`), [JSON.stringify(result) + "\n"]);
  return result;
}
