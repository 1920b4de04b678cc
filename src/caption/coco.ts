import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../io/read-json.js";
import { VitlensError } from "../errors.js";
import type { GridItem } from "../data/grids.js";
import { tokenize } from "./vocabulary.js";

export interface CaptionedImage {
  imageId: number;
  file: string; // resolved path
  width: number; // pixels, from the COCO entry (0 when it has none)
  height: number;
  captions: string[]; // every reference caption of the image
  items: GridItem[]; // grounded items, when the file has them (vitlens data grids)
}

export interface CocoCaptions {
  images: CaptionedImage[];
  skippedMissing: number; // annotations whose image file is missing
  skippedEmpty: number; // annotations with no words
}

/**
 * Reads COCO-format captions (`images[{id, file_name}]`, `annotations[{image_id, caption}]`)
 * against an image folder. Annotations of missing images and empty captions are skipped and
 * counted, or fail the read with `strict`.
 */
export function readCocoCaptions(path: string, imagesDir: string, strict: boolean): CocoCaptions {
  const json = readJson(path) as { images?: unknown; annotations?: unknown; items?: unknown };
  if (!Array.isArray(json.images) || !Array.isArray(json.annotations)) {
    throw new VitlensError(`${path}: expected COCO captions with "images" [{id, file_name}] and "annotations" [{image_id, caption}]`);
  }
  const byId = new Map<number, CaptionedImage>();
  json.images.forEach((img: { id?: unknown; file_name?: unknown; width?: unknown; height?: unknown }, i) => {
    if (typeof img?.id !== "number" || typeof img.file_name !== "string") throw new VitlensError(`${path}: images[${i}] needs a numeric "id" and a string "file_name"`);
    const [width, height] = [Number(img.width) || 0, Number(img.height) || 0];
    byId.set(img.id, { imageId: img.id, file: join(imagesDir, img.file_name), width, height, captions: [], items: [] });
  });
  let skippedMissing = 0;
  let skippedEmpty = 0;
  const exists = new Map<number, boolean>();
  json.annotations.forEach((a: { image_id?: unknown; caption?: unknown }, i) => {
    if (typeof a?.image_id !== "number" || typeof a.caption !== "string") throw new VitlensError(`${path}: annotations[${i}] needs a numeric "image_id" and a string "caption"`);
    const img = byId.get(a.image_id);
    if (!img) throw new VitlensError(`${path}: annotations[${i}] points at image_id ${a.image_id}, which is not in "images"`);
    if (!exists.has(img.imageId)) exists.set(img.imageId, existsSync(img.file));
    if (!exists.get(img.imageId)) {
      if (strict) throw new VitlensError(`${path}: annotations[${i}]: image ${img.file} does not exist (--strict)`);
      skippedMissing++;
      return;
    }
    if (tokenize(a.caption).length === 0) {
      if (strict) throw new VitlensError(`${path}: annotations[${i}] has an empty caption (--strict)`);
      skippedEmpty++;
      return;
    }
    img.captions.push(a.caption);
  });
  if (Array.isArray(json.items)) {
    for (const item of json.items as GridItem[]) byId.get(item.image_id)?.items.push(item);
  }
  const images = [...byId.values()].filter((img) => img.captions.length > 0);
  const sizeless = images.find((img) => img.items.length > 0 && (!img.width || !img.height));
  if (sizeless) throw new VitlensError(`${path}: image ${sizeless.imageId} has grounded items but no width/height`);
  if (images.length === 0) throw new VitlensError(`${path}: no usable captions (${skippedMissing} with missing images, ${skippedEmpty} empty)`);
  return { images, skippedMissing, skippedEmpty };
}
