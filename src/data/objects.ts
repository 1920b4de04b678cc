import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "../io/atomic-write.js";
import { Rng } from "../random.js";
import type { Dataset } from "./datasets.js";

export interface ObjectsOptions {
  count: number;
  size: number; // canvas side, pixels
  distractors: number; // fragments of other items pasted as clutter
  seed: number;
}

/** A box in pixels: [x, y, width, height]. */
export type Box = [number, number, number, number];

/**
 * Images with a known answer for "where is the object": each pastes one real item (from an
 * image dataset, e.g. Fashion-MNIST) at a random position on a larger canvas with noise and
 * dimmed fragments of other items as clutter. Writes <label>_<id>.png files and boxes.json
 * ({file: [x, y, w, h]}) into `out`; the label is the item's class.
 */
export async function writeObjects(source: Dataset, out: string, o: ObjectsOptions): Promise<{ files: number; boxes: Record<string, Box> }> {
  mkdirSync(out, { recursive: true });
  const rng = new Rng(o.seed);
  const boxes: Record<string, Box> = {};
  const pick = () => Math.floor(rng.next() * source.size);
  for (let n = 0; n < o.count; n++) {
    const canvas = new Uint8Array(o.size * o.size);
    for (let i = 0; i < canvas.length; i++) canvas[i] = Math.floor(rng.next() * 40); // background noise
    // Clutter: dimmed quarter-size fragments of other items.
    for (let k = 0; k < o.distractors; k++) {
      const img = await source.raw(pick());
      const fh = Math.floor(img.height / 2);
      const fw = Math.floor(img.width / 2);
      const sy = Math.floor(rng.next() * (img.height - fh));
      const sx = Math.floor(rng.next() * (img.width - fw));
      const dy = Math.floor(rng.next() * (o.size - fh));
      const dx = Math.floor(rng.next() * (o.size - fw));
      for (let y = 0; y < fh; y++)
        for (let x = 0; x < fw; x++) {
          const v = img.data[((sy + y) * img.width + sx + x) * 3] * 0.45;
          const at = (dy + y) * o.size + dx + x;
          canvas[at] = Math.max(canvas[at], v);
        }
    }
    const index = pick();
    const item = await source.raw(index);
    const y0 = Math.floor(rng.next() * (o.size - item.height + 1));
    const x0 = Math.floor(rng.next() * (o.size - item.width + 1));
    for (let y = 0; y < item.height; y++)
      for (let x = 0; x < item.width; x++) {
        const at = (y0 + y) * o.size + x0 + x;
        canvas[at] = Math.max(canvas[at], item.data[(y * item.width + x) * 3]);
      }
    const file = `${source.labels[index]}_${String(n).padStart(5, "0")}.png`;
    await sharp(Buffer.from(canvas), { raw: { width: o.size, height: o.size, channels: 1 } }).png().toFile(join(out, file));
    boxes[file] = [x0, y0, item.width, item.height];
  }
  writeFileAtomic(join(out, "boxes.json"), [JSON.stringify({ canvas: [o.size, o.size], boxes }) + "\n"]);
  return { files: o.count, boxes };
}
