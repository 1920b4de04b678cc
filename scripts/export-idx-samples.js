#!/usr/bin/env node
// Writes the first image of each class from an IDX file pair as PNG, named <label>_<class>.png.
//   node scripts/export-idx-samples.js /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz samples/fashion
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { openDataset } from "../dist/src/data/datasets.js";

const [idxPath, out] = process.argv.slice(2);
if (!idxPath || !out) {
  console.error("usage: node scripts/export-idx-samples.js IMAGES_IDX OUT");
  process.exit(2);
}
const ds = openDataset(idxPath);
mkdirSync(out, { recursive: true });
const seen = new Set();
for (let i = 0; i < ds.size && seen.size < ds.classNames.length; i++) {
  const label = ds.labels[i];
  if (seen.has(label)) continue;
  seen.add(label);
  const img = await ds.raw(i);
  const name = `${label}_${ds.classNames[label].replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}.png`;
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).greyscale().png().toFile(join(out, name));
}
console.log(`wrote ${seen.size} images to ${out}`);
