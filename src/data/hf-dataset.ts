import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { VitlensError } from "../errors.js";
import type { Dataset } from "./datasets.js";
import { openParquetPart, parquetImageReader, readLabels, type HfFeature, type ParquetPart } from "./parquet-dataset.js";

/*
 * A Hugging Face dataset repository on disk (a local folder in the Hub layout, or a snapshot the
 * hub client downloaded): parquet files per split, as the card's `configs: data_files` name them
 * or by the Hub's file-name conventions, class names from the card's `dataset_info` ClassLabel
 * (else the parquet schema's `huggingface` metadata).
 */

export interface HfDataOptions {
  split?: string;
  config?: string;
  imageColumn?: string;
  labelColumn?: string;
  cacheBytes?: number;
  /** the split to open when `split` is not given: the first of these the data has (else its first) */
  preferSplits?: string[];
}

/**
 * What a command will read of a dataset, so only those files are downloaded: the config (as
 * --config; else the card's default, as the reader picks it) and the splits, each a list of
 * preferences of which the first the dataset has is taken — else the dataset's first split (as
 * the reader falls back), nothing (an optional held-out split), or an error (a --split it lacks).
 * Without `splits`, every split of the config.
 */
export interface DatasetSelection {
  config?: string;
  splits?: SplitWish[];
}
export interface SplitWish {
  prefer: string[];
  /** never a split an earlier wish of the same selection took (the held-out split is not the one trained on) */
  notChosen?: boolean;
  /** a split the user named (--split): the dataset's own name only, as the reader takes it, no split words */
  exact?: boolean;
  otherwise: "first-split" | "skip" | "refuse";
}

/** The wish for a split the user named (--split): that name exactly, else an error naming the splits there are. */
export function namedSplitWish(split: string): SplitWish {
  return { prefer: [split], exact: true, otherwise: "refuse" };
}

/** The split `want` takes among `names` (none: undefined), given the splits earlier wishes took. */
export function wishedSplit(names: string[], want: SplitWish, chosen: string[]): string | undefined {
  if (want.exact) return want.prefer.find((p) => names.includes(p));
  return preferredSplit(names, want.prefer, want.notChosen ? chosen : []);
}

/** A folder that holds parquet files (at any depth) or a card naming its data files. */
export function isHfRepository(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  if (cardYaml(dir)?.configs || cardYaml(dir)?.dataset_info) return true;
  return parquetFiles(dir).length > 0;
}

interface Card {
  configs?: Array<{ config_name?: string; default?: boolean; data_files?: unknown; data_dir?: string }>;
  dataset_info?: DatasetInfo | DatasetInfo[];
}
interface DatasetInfo {
  config_name?: string;
  features?: Array<{ name: string; dtype?: unknown }>;
}

function cardYaml(dir: string): Card | null {
  const path = join(dir, "README.md");
  if (!existsSync(path)) return null;
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(readFileSync(path, "utf8"));
  if (!m) return null;
  try {
    const y = parseYaml(m[1]) as unknown;
    return y && typeof y === "object" ? (y as Card) : null;
  } catch (e) {
    throw new VitlensError(`${path}: the card's YAML header does not parse (${(e as Error).message.split("\n")[0]})`);
  }
}

/** Every parquet file under `dir` (hidden folders skipped), as sorted paths relative to it with / separators. */
export function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".parquet")) out.push(relative(dir, join(d, e.name)).split(sep).join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

/** The Hub's split keywords in file and folder names (datasets' `data_files` defaults). */
export const SPLIT_WORDS: Array<[string, string[]]> = [
  ["train", ["train", "training"]],
  ["validation", ["validation", "valid", "val", "dev"]],
  ["test", ["test", "testing", "eval", "evaluation"]],
];

/** Which of `names` is split `wanted` (train, validation, test): that name, else one named by one of its words (`training`, `dev`). */
export function findSplit(names: string[], wanted: string): string | undefined {
  const words = SPLIT_WORDS.find(([split]) => split === wanted)?.[1] ?? [];
  return names.find((s) => s === wanted) ?? names.find((s) => words.includes(s.toLowerCase()));
}

/** The first of `prefer` that `names` holds (by findSplit), never one `except` names: every reader's and downloader's choice. */
export function preferredSplit(names: string[], prefer: string[], except: string | string[] = []): string | undefined {
  const skip = new Set((typeof except === "string" ? [except] : except).map((e) => findSplit(names, e) ?? e));
  return prefer.map((s) => findSplit(names, s)).find((s) => s !== undefined && !skip.has(s));
}

function splitOfPath(path: string): string {
  for (const [split, words] of SPLIT_WORDS) {
    if (words.some((w) => new RegExp(`(^|[/_.\\-])${w}([/_.\\-]|$)`, "i").test(path))) return split;
  }
  return "train";
}

/** `data/train-*` style patterns: `*` within a path segment, `**` across them. */
function globToRegExp(glob: string): RegExp {
  const re = glob.split(/\*\*\/?/).map((piece) => piece.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join(".*");
  return new RegExp(`^${re}$`);
}

/** split -> parquet files (relative to the folder) for one config. */
interface ConfigSplits {
  config: string;
  /** split -> parquet files */
  splits: Map<string, string[]>;
  /** splits the card names whose files are not here (set only when a card lists the splits) */
  absent?: string[];
}

function splitFiles(dir: string, config: string | undefined): ConfigSplits {
  return configSplits(parquetFiles(dir), cardYaml(dir), dir, config);
}

/**
 * The same choice for a repository not downloaded yet: its parquet paths (from the Hub's tree
 * listing) and the folder its card was saved in (null without a card), so a download fetches one
 * config's files only.
 */
export function hubConfigSplits(parquetPaths: string[], cardDir: string | null, where: string, config: string | undefined): ConfigSplits {
  return configSplits([...parquetPaths].sort(), cardDir === null ? null : cardYaml(cardDir), where, config);
}

function configSplits(files: string[], card: Card | null, dir: string, config: string | undefined): ConfigSplits {
  const configs = card?.configs ?? [];
  if (configs.length) {
    const names = configs.map((c) => c.config_name ?? "default");
    let chosen = configs.find((c) => (c.config_name ?? "default") === config);
    if (config !== undefined && !chosen) throw new VitlensError(`--config ${config}: ${dir} has configs ${names.join(", ")}`);
    chosen ??= configs.find((c) => c.default) ?? configs.find((c) => (c.config_name ?? "default") === "default") ?? (configs.length === 1 ? configs[0] : undefined);
    if (!chosen) throw new VitlensError(`${dir}: the dataset has configs ${names.join(", ")}; pass --config NAME`);
    const name = chosen.config_name ?? "default";
    const splits = new Map<string, string[]>();
    const add = (split: string, patterns: unknown) => {
      const list = (Array.isArray(patterns) ? patterns : [patterns]).map(String).map((p) => (chosen.data_dir ? `${chosen.data_dir}/${p}` : p));
      const matched = files.filter((f) => list.some((p) => globToRegExp(p).test(f)));
      splits.set(split, [...(splits.get(split) ?? []), ...matched]);
    };
    const df = chosen.data_files;
    if (typeof df === "string" || (Array.isArray(df) && df.every((x) => typeof x === "string"))) add("train", df);
    else if (Array.isArray(df)) for (const e of df as Array<{ split?: string; path: unknown }>) add(e.split ?? "train", e.path);
    else if (df && typeof df === "object") for (const [split, p] of Object.entries(df)) add(split, p);
    else if (chosen.data_dir) for (const f of files.filter((f) => f.startsWith(`${chosen.data_dir}/`))) add(splitOfPath(f), f);
    // A split whose files are absent is left out (a Hub snapshot holds the splits commands read);
    // reading it, or a config with none, is the error.
    const absent = [...splits].filter(([, list]) => list.length === 0).map(([split]) => split);
    for (const split of absent) splits.delete(split);
    if (splits.size === 0) throw new VitlensError(`${dir}: config ${name}, split ${absent[0]}: its data_files match no parquet file`);
    return { config: name, splits, absent };
  }
  const byFolder = configFolders(files);
  if (byFolder) {
    // the Hub's parquet conversion (refs/convert/parquet): <config>/<split>/NNNN.parquet
    const names = [...byFolder.keys()];
    const name = config ?? (names.includes("default") ? "default" : names.length === 1 ? names[0] : undefined);
    if (name === undefined) throw new VitlensError(`${dir}: the dataset has configs ${names.join(", ")} (one folder each); pass --config NAME`);
    const chosen = byFolder.get(name);
    if (!chosen) throw new VitlensError(`--config ${name}: ${dir} has configs ${names.join(", ")}`);
    const splits = new Map<string, string[]>();
    for (const f of chosen) {
      const split = f.split("/")[1].replace(/^partial-/, ""); // the split's own name (a partial conversion of a large split: partial-train)
      splits.set(split, [...(splits.get(split) ?? []), f]);
    }
    return { config: name, splits };
  }
  if (config !== undefined && config !== "default") throw new VitlensError(`--config ${config}: ${dir} names no configs in its card`);
  const splits = new Map<string, string[]>();
  for (const f of files) splits.set(splitOfPath(f), [...(splits.get(splitOfPath(f)) ?? []), f]);
  if (splits.size === 0) throw new VitlensError(`${dir}: no parquet files in this dataset folder`);
  return { config: "default", splits };
}

/**
 * `<config>/<split>/NNNN.parquet` everywhere (the Hub's parquet conversion, whatever the split
 * names: train, dev, unsupervised, partial-train): config -> its files; else null.
 */
function configFolders(files: string[]): Map<string, string[]> | null {
  if (files.length === 0 || !files.every((f) => f.split("/").length === 3 && /^\d+\.parquet$/.test(f.split("/")[2]))) return null;
  const out = new Map<string, string[]>();
  for (const f of files) out.set(f.split("/")[0], [...(out.get(f.split("/")[0]) ?? []), f]);
  return out;
}

/** The split names a repository holds (for one config). */
export function hfSplits(dir: string, config?: string): string[] {
  return [...splitFiles(dir, config).splits.keys()];
}

/** The card's features for a config, as datasets' feature dicts. */
function cardFeatures(dir: string, config: string): Record<string, HfFeature> | null {
  const info = cardYaml(dir)?.dataset_info;
  if (!info) return null;
  const entry = Array.isArray(info) ? info.find((i) => (i.config_name ?? "default") === config) ?? (info.length === 1 ? info[0] : undefined) : info;
  if (!entry?.features) return null;
  const out: Record<string, HfFeature> = {};
  for (const f of entry.features) {
    const dtype = f.dtype as unknown;
    if (dtype === "image") out[f.name] = { _type: "Image" };
    else if (dtype && typeof dtype === "object" && "class_label" in dtype) {
      const names = (dtype as { class_label: { names: Record<string, string> | string[] } }).class_label.names;
      const list = Array.isArray(names) ? names.map(String) : Object.entries(names).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, n]) => String(n));
      out[f.name] = { _type: "ClassLabel", names: list };
    } else out[f.name] = { _type: "Value", dtype: String(dtype) };
  }
  return out;
}

/** One split of a repository as a Dataset. */
export async function openHfRepository(dir: string, o: HfDataOptions): Promise<Dataset> {
  const { config, splits, absent } = splitFiles(dir, o.config);
  // the first preferred split the dataset names, even when its files are absent (then an error below, not another split)
  const split = o.split ?? preferredSplit([...splits.keys(), ...(absent ?? [])], o.preferSplits ?? ["train"]) ?? [...splits.keys()][0];
  const files = splits.get(split);
  if (!files && absent?.includes(split)) {
    throw new VitlensError(`--split ${split}: ${dir}${config !== "default" ? ` (config ${config})` : ""}: the card names this split but its parquet files are not in the folder (has ${[...splits.keys()].join(", ")})`);
  }
  if (!files) throw new VitlensError(`--split ${split}: ${dir}${config !== "default" ? ` (config ${config})` : ""} has splits ${[...splits.keys()].join(", ")}`);
  return openParquetFiles(files.map((f) => join(dir, f)), dir, `Hugging Face dataset ${dir}${config !== "default" ? ` (${config})` : ""}, split ${split}`, o, cardFeatures(dir, config));
}

/** Parquet files of one split (or a lone .parquet given as --data). */
export async function openParquetFiles(paths: string[], root: string, what: string, o: HfDataOptions, card: Record<string, HfFeature> | null): Promise<Dataset> {
  const parts: ParquetPart[] = [];
  for (const p of paths) parts.push(await openParquetPart(p));
  const first = parts[0];
  const features = { ...(first.features ?? {}), ...(card ?? {}) };
  const pick = (flag: string, given: string | undefined, test: (name: string) => boolean, fallback: string[]): string => {
    if (given !== undefined) {
      if (!first.columns.includes(given)) throw new VitlensError(`${flag} ${given}: ${first.path} has columns ${first.columns.join(", ")}`);
      return given;
    }
    const found = first.columns.find(test) ?? fallback.find((c) => first.columns.includes(c));
    if (!found) throw new VitlensError(`${first.path}: no ${flag === "--image-column" ? "image" : "label"} column among ${first.columns.join(", ")}; name it with ${flag}`);
    return found;
  };
  const imageColumn = pick("--image-column", o.imageColumn, (c) => features[c]?._type === "Image", ["image", "img", "pixel_values"]);
  const labelColumn = pick("--label-column", o.labelColumn, (c) => features[c]?._type === "ClassLabel", ["label", "labels", "fine_label", "class"]);
  for (const p of parts.slice(1)) {
    for (const c of [imageColumn, labelColumn]) if (!p.columns.includes(c)) throw new VitlensError(`${p.path}: no column ${c} (${first.path} has it)`);
  }
  const values: Array<number | string> = [];
  for (const p of parts) values.push(...(await readLabels(p, labelColumn)));
  const classLabel = features[labelColumn]?._type === "ClassLabel" ? features[labelColumn].names ?? null : null;
  let labels: Int32Array;
  let classNames: string[];
  let labelKind: Dataset["labelKind"];
  if (values.every((v) => typeof v === "number")) {
    labels = Int32Array.from(values as number[]);
    const bad = labels.findIndex((y) => y < 0 || !Number.isInteger(y) || (classLabel !== null && y >= classLabel.length));
    if (bad >= 0) throw new VitlensError(`${what}: row ${bad} has label ${labels[bad]}${classLabel ? `, outside the ClassLabel's ${classLabel.length} names` : " (expected a class index >= 0)"}`);
    const top = labels.reduce((m, v) => Math.max(m, v), -1);
    classNames = classLabel ?? Array.from({ length: top + 1 }, (_, i) => String(i));
    labelKind = classLabel ? "names" : "indices"; // a ClassLabel carries names, matched by name
  } else {
    classNames = [...new Set(values.map(String))].sort();
    const index = new Map(classNames.map((n, i) => [n, i]));
    labels = Int32Array.from(values, (v) => index.get(String(v))!);
    labelKind = "names";
  }
  const reader = parquetImageReader({ parts, column: imageColumn, root }, o.cacheBytes ?? 1 << 28);
  return {
    description: `${what} (${reader.size} images, ${classNames.length} classes; columns ${imageColumn}, ${labelColumn})`,
    size: reader.size, labels, classNames, labelKind, name: reader.name, raw: reader.raw,
  };
}
