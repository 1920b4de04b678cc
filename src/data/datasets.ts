import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { IMAGE_EXT } from "./image-files.js";
import { VitlensError } from "../errors.js";
import { readIdx } from "./idx.js";
import { decodeRaw, grayToRaw, type RawImage } from "./raw-image.js";

/** A labelled image collection; `raw(i)` decodes sample i (file datasets cache what fits). */
export interface Dataset {
  description: string;
  size: number;
  labels: Int32Array;
  classNames: string[];
  name(i: number): string; // file path, or "<idx file>#i"
  raw(i: number): Promise<RawImage>;
}

const FASHION_MNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/**
 * Opens `--data`: a folder of class subfolders; a flat folder of `<label>_<anything>.<ext>`
 * files (integer labels, the seed assignment's layout); a CSV of `filename,label`; or an IDX
 * images file (`*-images-idx3-ubyte[.gz]`, labels found beside it).
 */
export function openDataset(spec: string, cacheBytes = 1 << 30): Dataset {
  if (!existsSync(spec)) throw new VitlensError(`--data ${spec}: no such file or directory`);
  if (statSync(spec).isDirectory()) return openFolder(spec, cacheBytes);
  if (/-images-idx3-ubyte(\.gz)?$/.test(spec)) return openIdx(spec);
  if (/\.csv$/i.test(spec)) return openCsv(spec, cacheBytes);
  throw new VitlensError(`--data ${spec}: expected a folder, a .csv of filename,label, or an *-images-idx3-ubyte[.gz] file`);
}

function openIdx(imagesPath: string): Dataset {
  const labelsPath = imagesPath.replace("-images-idx3-ubyte", "-labels-idx1-ubyte");
  if (!existsSync(labelsPath)) throw new VitlensError(`${imagesPath}: its labels file ${labelsPath} is missing`);
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3) throw new VitlensError(`${imagesPath}: expected (count, rows, cols) images, found dims [${images.dims}]`);
  const [count, h, w] = images.dims;
  if (labels.dims.length !== 1 || labels.dims[0] !== count) {
    throw new VitlensError(`${labelsPath}: ${labels.dims[0]} labels for ${count} images`);
  }
  const labelArr = Int32Array.from(labels.data);
  const numClasses = Math.max(...labelArr) + 1;
  const classNames = /fashion/i.test(imagesPath) && numClasses <= 10 ? FASHION_MNIST : Array.from({ length: numClasses }, (_, i) => String(i));
  return {
    description: `IDX ${basename(imagesPath)} (${count} images ${h}x${w}, ${numClasses} classes)`,
    size: count,
    labels: labelArr,
    classNames,
    name: (i) => `${imagesPath}#${i}`,
    raw: async (i) => grayToRaw(images.data.subarray(i * h * w, (i + 1) * h * w), h, w),
  };
}

function openFolder(dir: string, cacheBytes: number): Dataset {
  const entries = readdirSync(dir, { withFileTypes: true });
  const classDirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort();
  if (classDirs.length > 0) {
    const files: string[] = [];
    const labels: number[] = [];
    classDirs.forEach((cls, label) => {
      const images = readdirSync(join(dir, cls)).filter((f) => IMAGE_EXT.test(f)).sort();
      for (const f of images) {
        files.push(join(dir, cls, f));
        labels.push(label);
      }
    });
    if (files.length === 0) throw new VitlensError(`--data ${dir}: the class folders (${classDirs.slice(0, 3).join(", ")}...) hold no images`);
    return fileDataset(`class folders ${dir} (${files.length} images, ${classDirs.length} classes)`, files, labels, classDirs, cacheBytes);
  }
  const images = entries.filter((e) => e.isFile() && IMAGE_EXT.test(e.name)).map((e) => e.name).sort();
  if (images.length === 0) throw new VitlensError(`--data ${dir}: no images and no class folders`);
  const labels = images.map((f) => {
    const m = /^(\d+)_/.exec(f);
    if (!m) throw new VitlensError(`--data ${dir}: ${f} has no "<label>_" prefix (expected class folders or files named like 3_0001.png)`);
    return Number(m[1]);
  });
  const numClasses = Math.max(...labels) + 1;
  const classNames = Array.from({ length: numClasses }, (_, i) => String(i));
  return fileDataset(`labelled files ${dir} (${images.length} images, ${numClasses} classes)`, images.map((f) => join(dir, f)), labels, classNames, cacheBytes);
}

function openCsv(path: string, cacheBytes: number): Dataset {
  let rows: string[][];
  try {
    rows = parse(readFileSync(path, "utf8"), { skip_empty_lines: true, trim: true, relax_column_count: false });
  } catch (e) {
    throw new VitlensError(`${path}: not a valid CSV (${(e as Error).message.split("\n")[0]})`);
  }
  if (rows.length && /^file(name)?$/i.test(rows[0][0]) && /^label$/i.test(rows[0][1] ?? "")) rows = rows.slice(1);
  if (rows.length === 0) throw new VitlensError(`${path}: no rows (expected filename,label)`);
  rows.forEach((r, i) => {
    if (r.length < 2 || !r[0] || r[1] === "") throw new VitlensError(`${path}: row ${i + 1} is not filename,label`);
  });
  const numeric = rows.every((r) => /^\d+$/.test(r[1]));
  const classNames = numeric
    ? Array.from({ length: Math.max(...rows.map((r) => Number(r[1]))) + 1 }, (_, i) => String(i))
    : [...new Set(rows.map((r) => r[1]))].sort();
  const labels = rows.map((r) => (numeric ? Number(r[1]) : classNames.indexOf(r[1])));
  const base = dirname(resolve(path));
  return fileDataset(`CSV ${path} (${rows.length} images, ${classNames.length} classes)`, rows.map((r) => resolve(base, r[0])), labels, classNames, cacheBytes);
}

function fileDataset(description: string, files: string[], labels: number[], classNames: string[], cacheBytes: number): Dataset {
  const cache = new Map<number, RawImage>();
  let cached = 0;
  return {
    description,
    size: files.length,
    labels: Int32Array.from(labels),
    classNames,
    name: (i) => files[i],
    raw: async (i) => {
      const hit = cache.get(i);
      if (hit) return hit;
      const img = await decodeRaw(files[i]);
      if (cached + img.data.length <= cacheBytes) {
        cache.set(i, img);
        cached += img.data.length;
      }
      return img;
    },
  };
}

/** A view on some samples of a dataset (a validation split, a subset). */
export function subset(ds: Dataset, indices: number[], description: string): Dataset {
  return {
    description,
    size: indices.length,
    labels: Int32Array.from(indices, (i) => ds.labels[i]),
    classNames: ds.classNames,
    name: (i) => ds.name(indices[i]),
    raw: (i) => ds.raw(indices[i]),
  };
}
