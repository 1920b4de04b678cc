import { existsSync, statSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { VitlensError } from "../errors.js";
import { readAt, withOpenFile } from "../io/file-range.js";
import { ZipFile, type ZipEntry } from "../io/zip-file.js";
import { numel } from "../tensor.js";
import { elementReader, typedElements, type ElementAt } from "./elements.js";
import { npyDataStart, parseNpyHeader } from "./npz.js";
import { readSafetensorsHeader, type SafetensorsEntry } from "./safetensors.js";
import { SHARD_INDEX, shardFiles } from "./sharded.js";
import { arrayStats, tensorStats, type TensorStats } from "./tensor-stats.js";
import { checkView, findPickle } from "./torch-pickle.js";
import { isTensorRef, unpickle, type PickleRoot, type PickleValue } from "./pickle.js";
import { isLegacyTorchHead, readLegacyTorchFile } from "./torch-legacy.js";
import { rowMajorStrides, type StridedView } from "./strided.js";

/**
 * What a checkpoint file holds, read one tensor at a time: every tensor's name, dtype (as the file
 * stores it, under safetensors' names) and shape, and on request its min/max/mean. A tensor's
 * bytes are read from the file when asked for and dropped after, never the whole file.
 */
export interface ListedTensor {
  kind: "tensor";
  name: string;
  /** Reads this tensor's dtype and shape, and with `stats` its bytes to reduce them. */
  read(stats: boolean): TensorListing;
}

export interface TensorListing {
  dtype: string; // F32, BF16, I64, ...; numpy's descr for what vitlens cannot read
  shape: number[];
  stats?: TensorStats | null; // null: empty, or a dtype with no numeric reading
}

/** A non-tensor entry of a .pth (an epoch, a learning rate, a list of tags). */
export interface ListedValue {
  kind: "value";
  name: string;
  type: string; // Python's: int, float, str, bool, None, list, tuple, dict
  value: JsonValue;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type ListedEntry = ListedTensor | ListedValue;

const TORCH_EXTENSIONS = [".pth", ".pt", ".bin", ".ckpt"];

/** The entries of a .safetensors, a sharded index, a torch.save file, an .npz, or a model folder's weights. */
export function listCheckpoint(path: string): ListedEntry[] {
  if (!existsSync(path)) throw new VitlensError(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const weights = ["model.safetensors", SHARD_INDEX, "pytorch_model.bin"].map((f) => join(path, f)).find((f) => existsSync(f));
    if (!weights) throw new VitlensError(`${path}: a folder without model.safetensors, ${SHARD_INDEX} or pytorch_model.bin; name a checkpoint file`);
    return listCheckpoint(weights);
  }
  if (path.endsWith(".index.json")) return listSharded(path);
  const ext = extname(path);
  if (ext === ".safetensors") return listSafetensors(path);
  if (ext === ".npz") return listNpz(path);
  if (TORCH_EXTENSIONS.includes(ext)) return listTorch(path);
  throw new VitlensError(`${path}: not a checkpoint file vitlens reads (expected .safetensors, a .safetensors.index.json of shards, .pth/.pt/.bin/.ckpt, or .npz)`);
}

function listSafetensors(path: string): ListedEntry[] {
  const { entries, dataStart } = withOpenFile(path, (fd, size) => readSafetensorsHeader(fd, size, path));
  return [...entries].map(([name, e]) => safetensorsTensor(path, name, e, dataStart));
}

function safetensorsTensor(path: string, name: string, e: SafetensorsEntry, dataStart: number): ListedTensor {
  return {
    kind: "tensor", name,
    read: (stats) => {
      const listing: TensorListing = { dtype: e.dtype, shape: e.shape };
      if (!stats) return listing;
      const bytes = withOpenFile(path, (fd) => readAt(fd, dataStart + e.begin, e.end - e.begin));
      return { ...listing, stats: reduce(bytes, e.dtype, numel(e.shape)) };
    },
  };
}

/** Every shard an index names, in order; each indexed key must be in the shard it names. */
function listSharded(indexPath: string): ListedEntry[] {
  const { shards, weightMap } = shardFiles(indexPath);
  const out: ListedEntry[] = [];
  const found = new Map<string, string>();
  for (const shard of shards) {
    const path = join(dirname(indexPath), shard);
    if (!existsSync(path)) throw new VitlensError(`${indexPath}: shard ${shard} is missing`);
    const { entries, dataStart } = withOpenFile(path, (fd, size) => readSafetensorsHeader(fd, size, path));
    for (const [name, e] of entries) {
      out.push(safetensorsTensor(path, name, e, dataStart));
      found.set(name, shard);
    }
  }
  for (const [key, shard] of weightMap) {
    if (found.get(key) !== shard) throw new VitlensError(`${indexPath}: key ${key} is not in its shard ${shard}`);
  }
  return out;
}

/**
 * .npz members are read one at a time from the zip. A stored member's header is read alone; a
 * deflated one (np.savez_compressed) must be inflated whole to reach even its header, since
 * deflate streams cannot be entered in the middle. Fortran order does not change the stats.
 */
function listNpz(path: string): ListedEntry[] {
  const zip = ZipFile.open(path, ".npz (zip)");
  const members = [...zip.entries.values()].filter((e) => e.name.endsWith(".npy"));
  if (members.length === 0) throw new VitlensError(`${path}: no .npy arrays inside`);
  return members.map((entry) => ({ kind: "tensor", name: entry.name.slice(0, -4), read: (stats) => readNpyMember(zip, entry, stats) }));
}

function readNpyMember(zip: ZipFile, entry: ZipEntry, stats: boolean): TensorListing {
  const name = `${zip.path}:${entry.name}`;
  const bytes = stats ? zip.read(entry) : zip.readPrefix(entry, npyDataStart(zip.readPrefix(entry, 12), name));
  const h = parseNpyHeader(bytes, name);
  const listing = { dtype: h.dtype ?? h.descr, shape: h.shape };
  if (!stats) return listing;
  if (!h.dtype) return { ...listing, stats: null };
  const data = bytes.subarray(h.dataStart);
  if (data.length !== h.dataBytes) throw new VitlensError(`${name}: not a readable .npy array: shape (${h.shape}) of ${h.descr} needs ${h.dataBytes} bytes, found ${data.length}`);
  return { ...listing, stats: reduce(data, h.dtype, numel(h.shape), h.littleEndian) };
}

/**
 * A torch.save file (zip or legacy): the pickle is read whole (it holds no tensor data), each
 * storage only when a tensor viewing it is reduced. Nested dicts are flattened with dots; lists
 * holding tensors or dicts are flattened with their indices; other values are listed as values.
 */
function listTorch(path: string): ListedEntry[] {
  const legacy = withOpenFile(path, (fd, size) => (isLegacyTorchHead(readAt(fd, 0, Math.min(2, size))) ? readLegacyTorchFile(fd, size, path) : null));
  if (legacy) return listParsed(legacy.parsed, path, (ref) => withOpenFile(path, (fd) => legacy.storageBytes(fd, ref.storage)));
  const zip = ZipFile.open(path, "torch.save zip");
  const { pickle, prefix } = findPickle([...zip.entries.keys()], path);
  return listParsed(unpickle(zip.read(zip.entries.get(pickle)!), path), path, (ref) => {
    const entry = zip.entries.get(`${prefix}data/${ref.storage}`);
    if (!entry) throw new VitlensError(`${path}: storage ${ref.storage} is missing from the archive`);
    return zip.read(entry);
  });
}

/** A parsed pickle's entries; `storageBytes` reads the whole storage a tensor views (a view may reach anywhere in it). */
function listParsed(parsed: PickleRoot, path: string, storageBytes: (ref: TensorRef) => Uint8Array): ListedEntry[] {
  const out: ListedEntry[] = [];
  flatten(parsed.root, "", parsed, out, (ref, name) => ({
    kind: "tensor", name,
    read: (stats) => {
      const listing = { dtype: ref.dtype, shape: ref.view.size };
      if (!stats) return listing;
      const raw = storageBytes(ref);
      checkView(ref, raw.length, path);
      return { ...listing, stats: reduce(raw, ref.dtype, 0, true, ref.view) };
    },
  }));
  return out;
}

type TensorRef = Extract<PickleValue, { kind: "tensor" }>;

function flatten(v: PickleValue, name: string, parsed: PickleRoot, out: ListedEntry[], tensor: (ref: TensorRef, name: string) => ListedTensor): void {
  const at = (key: string) => (name ? `${name}.${key}` : key);
  if (isTensorRef(v)) {
    out.push(tensor(v, name || "(root)"));
  } else if (v instanceof Map && v.size > 0) {
    for (const [k, x] of v) flatten(x, at(keyText(k)), parsed, out, tensor);
  } else if (Array.isArray(v) && v.some((x) => isTensorRef(x) || x instanceof Map || Array.isArray(x))) {
    v.forEach((x, i) => flatten(x, at(String(i)), parsed, out, tensor));
  } else {
    out.push({ kind: "value", name: name || "(root)", type: pythonType(v, parsed), value: toJson(v) });
  }
}

function keyText(k: PickleValue): string {
  if (k !== null && typeof k === "object" && !Array.isArray(k) && !(k instanceof Map) && k.kind === "float") return String(k.value);
  return Array.isArray(k) ? k.map(keyText).join(",") : String(k);
}

function pythonType(v: PickleValue, parsed: PickleRoot): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "int";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return parsed.tuples.has(v) ? "tuple" : "list";
  if (v instanceof Map) return "dict";
  return v.kind; // "float"
}

/** Python values as JSON; non-finite floats as "NaN", "Infinity", "-Infinity". */
function toJson(v: PickleValue): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [keyText(k), toJson(x)]));
  if (v.kind === "float") return Number.isFinite(v.value) ? v.value : String(v.value);
  return null; // tensors are listed as tensors before this point
}

/** Stats of a tensor's bytes, read in place; null for a dtype with no numeric reading. */
function reduce(bytes: Uint8Array, dtype: string, count: number, littleEndian = true, view?: StridedView): TensorStats | null {
  const typed = typedElements(bytes, dtype, littleEndian);
  if (typed && (!view || isRowMajor(view))) return arrayStats(typed, view?.offset ?? 0, view ? numel(view.size) : count);
  const at: ElementAt | null = elementReader(bytes, dtype, littleEndian);
  return at ? tensorStats(at, count, view) : null;
}

function isRowMajor(view: StridedView): boolean {
  const strides = rowMajorStrides(view.size);
  return view.size.every((d, i) => d === 1 || view.stride[i] === strides[i]);
}
