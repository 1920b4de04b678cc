import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { IMAGE_EXT } from "./image-files.js";
import { VitlensError } from "../errors.js";
import { readIdx } from "./idx.js";
import { hfSplits, isHfRepository, openHfRepository, openParquetFiles, preferredSplit, SPLIT_WORDS, type HfDataOptions } from "./hf-dataset.js";
import { decodeRaw, grayToRaw, type RawImage } from "./raw-image.js";

/** A labelled image collection; `raw(i)` decodes sample i (file datasets cache what fits). */
export interface Dataset {
  description: string;
  size: number;
  labels: Int32Array;
  classNames: string[];
  /** how labels name classes: by name (class folders, CSV names, a ClassLabel) or as indices (<label>_<id>, IDX, CSV integers); data/classes.ts */
  labelKind: "names" | "indices";
  name(i: number): string; // file path, or "<idx file>#i"
  raw(i: number): Promise<RawImage>;
}

/** Where `--data` reads from, beyond the path: a Hugging Face dataset's split, config and columns. */
export type DataOptions = HfDataOptions;

/**
 * Opens `--data` in any layout: a Hugging Face dataset repository (parquet files, a card), a lone
 * .parquet file, a folder with HF imagefolder metadata (metadata.csv / metadata.jsonl), or the
 * file layouts of `openDataset`. `split` picks a split where the data has them.
 */
export async function openData(spec: string, o: DataOptions = {}): Promise<Dataset> {
  if (!existsSync(spec)) throw new VitlensError(`--data ${spec}: no such file or directory`);
  if (/\.parquet$/i.test(spec) && statSync(spec).isFile()) {
    return openParquetFiles([spec], dirname(resolve(spec)), `parquet ${spec}`, o, null);
  }
  if (isHfRepository(spec)) return openHfRepository(spec, o);
  const splits = dataSplits(spec, o);
  const split = o.split ?? (splits ? preferredSplit(splits, o.preferSplits ?? ["train"]) ?? splits[0] : undefined);
  const meta = imagefolderMetadata(spec, split);
  if (meta) return openMetadataFile(meta, o);
  if (split !== undefined && o.split === undefined) return openDataset(join(spec, split), o.cacheBytes); // split folders of class folders
  if (o.split !== undefined) {
    const sub = join(spec, o.split);
    if (existsSync(sub) && statSync(sub).isDirectory()) return openDataset(sub, o.cacheBytes);
    throw new VitlensError(`--split ${o.split}: ${spec} is not a dataset with splits (no parquet files, no ${o.split}/ folder)`);
  }
  return openDataset(spec, o.cacheBytes);
}

/** Folder names that are splits rather than classes when every subfolder is one of them: the Hub's split words. */
const SPLIT_NAMES = new Set(SPLIT_WORDS.flatMap(([, words]) => words));

/**
 * The split names the data holds (HF repositories; imagefolder split folders: subfolders with
 * their own metadata, or `train/`, `test/`, ... holding class folders), or null when it has none.
 */
export function dataSplits(spec: string, o: DataOptions = {}): string[] | null {
  if (!existsSync(spec) || !statSync(spec).isDirectory()) return null;
  if (isHfRepository(spec)) return hfSplits(spec, o.config);
  if (imagefolderMetadata(spec)) return null;
  const subs = readdirSync(spec).filter((d) => statSync(join(spec, d)).isDirectory());
  const withMetadata = subs.filter((d) => imagefolderMetadata(join(spec, d)) !== null);
  if (withMetadata.length) return withMetadata;
  const ofClasses = (d: string) => readdirSync(join(spec, d)).some((c) => statSync(join(spec, d, c)).isDirectory());
  return subs.length >= 2 && subs.every((d) => SPLIT_NAMES.has(d.toLowerCase()) && ofClasses(d)) ? subs : null;
}

/** HF imagefolder's metadata.csv / metadata.jsonl (file_name + columns), in the folder or its split folder. */
function imagefolderMetadata(dir: string, split?: string): string | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  for (const d of split === undefined ? [dir] : [join(dir, split)]) {
    for (const f of ["metadata.csv", "metadata.jsonl"]) if (existsSync(join(d, f))) return join(d, f);
  }
  return null;
}

function openMetadataFile(path: string, o: DataOptions): Dataset {
  let records: Array<Record<string, unknown>>;
  try {
    records = path.endsWith(".csv")
      ? (parse(readFileSync(path, "utf8"), { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, unknown>>)
      : readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch (e) {
    throw new VitlensError(`${path}: not valid ${path.endsWith(".csv") ? "CSV" : "JSON lines"} (${(e as Error).message.split("\n")[0]})`);
  }
  if (records.length === 0) throw new VitlensError(`${path}: no rows`);
  const columns = Object.keys(records[0]);
  if (!columns.includes("file_name")) throw new VitlensError(`${path}: no file_name column (HF imagefolder metadata names each image in file_name)`);
  const labelColumn = o.labelColumn ?? (columns.includes("label") ? "label" : columns.find((c) => c !== "file_name"));
  if (!labelColumn || !columns.includes(labelColumn)) throw new VitlensError(`${path}: no label column${o.labelColumn ? ` ${o.labelColumn}` : ""} (columns ${columns.join(", ")}; name it with --label-column)`);
  const base = dirname(resolve(path));
  const values = records.map((r, i) => {
    const v = r[labelColumn];
    if (v === undefined || v === null || v === "") throw new VitlensError(`${path}: row ${i + 1} has no ${labelColumn}`);
    return String(v);
  });
  const files = records.map((r) => resolve(base, String(r.file_name)));
  return labelledFiles(`imagefolder metadata ${path}`, files, values, o.cacheBytes ?? 1 << 30);
}

/** Files with string labels: all integers are indices, anything else names (sorted). */
function labelledFiles(what: string, files: string[], values: string[], cacheBytes: number): Dataset {
  const numeric = values.every((v) => /^\d+$/.test(v));
  const classNames = numeric
    ? Array.from({ length: Math.max(...values.map(Number)) + 1 }, (_, i) => String(i))
    : [...new Set(values)].sort();
  const index = new Map(classNames.map((n, i) => [n, i]));
  const labels = values.map((v) => (numeric ? Number(v) : index.get(v)!));
  return fileDataset(`${what} (${files.length} images, ${classNames.length} classes)`, files, labels, classNames, numeric ? "indices" : "names", cacheBytes);
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
    labelKind: "indices",
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
    return fileDataset(`class folders ${dir} (${files.length} images, ${classDirs.length} classes)`, files, labels, classDirs, "names", cacheBytes);
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
  return fileDataset(`labelled files ${dir} (${images.length} images, ${numClasses} classes)`, images.map((f) => join(dir, f)), labels, classNames, "indices", cacheBytes);
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
  const base = dirname(resolve(path));
  return labelledFiles(`CSV ${path}`, rows.map((r) => resolve(base, r[0])), rows.map((r) => r[1]), cacheBytes);
}

function fileDataset(description: string, files: string[], labels: number[], classNames: string[], labelKind: Dataset["labelKind"], cacheBytes: number): Dataset {
  const cache = new Map<number, RawImage>();
  let cached = 0;
  return {
    description,
    size: files.length,
    labels: Int32Array.from(labels),
    classNames,
    labelKind,
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
    labelKind: ds.labelKind,
    name: (i) => ds.name(indices[i]),
    raw: (i) => ds.raw(indices[i]),
  };
}
