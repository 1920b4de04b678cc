import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { dirname, isAbsolute, join } from "node:path";
import { VitlensError } from "../errors.js";
import { decodeBytesNamed, decodeRaw, UnreadableImageError, type RawImage } from "./raw-image.js";
import { LruCache } from "../serve/cache.js";

/** What `datasets` records about a column in the parquet schema's `huggingface` metadata. */
export interface HfFeature {
  _type?: string; // "Image", "ClassLabel", "Value"
  names?: string[];
  dtype?: string;
}

/** One parquet file, its footer read; rows are read a row group at a time. */
export interface ParquetPart {
  path: string;
  metadata: FileMetaData;
  rows: number;
  /** row-group start rows, and one past the end */
  groupStarts: number[];
  features: Record<string, HfFeature> | null;
  columns: string[];
}

export async function openParquetPart(path: string): Promise<ParquetPart> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  } catch (e) {
    throw new VitlensError(`${path}: not a readable parquet file (${(e as Error).message})`);
  }
  const groupStarts = [0];
  for (const g of metadata.row_groups) groupStarts.push(groupStarts[groupStarts.length - 1] + Number(g.num_rows));
  const hf = metadata.key_value_metadata?.find((kv) => kv.key === "huggingface")?.value;
  let features: Record<string, HfFeature> | null = null;
  if (hf) {
    try {
      features = (JSON.parse(hf) as { info?: { features?: Record<string, HfFeature> } }).info?.features ?? null;
    } catch {
      features = null; // not datasets' metadata: columns are told by their types
    }
  }
  const columns = metadata.schema.slice(1).filter((el, i, all) => isTopLevel(all, i)).map((el) => el.name);
  return { path, metadata, rows: Number(metadata.num_rows), groupStarts, features, columns };
}

/** Top-level fields of the flattened schema (children of structs come after their parent). */
function isTopLevel(fields: FileMetaData["schema"], index: number): boolean {
  let depthLeft = 0;
  for (let i = 0; i < index; i++) depthLeft = Math.max(0, depthLeft - 1) + (fields[i].num_children ?? 0);
  return depthLeft === 0;
}

async function readColumn(part: ParquetPart, column: string, rowStart: number, rowEnd: number): Promise<unknown[]> {
  const file = await asyncBufferFromFile(part.path);
  let out: unknown[] = [];
  await parquetRead({
    file, metadata: part.metadata, columns: [column], rowStart, rowEnd, compressors, utf8: false,
    onComplete: (rows) => { out = rows.map((r) => r[0]); },
  });
  return out;
}

/** A label column's values: ints (ClassLabel or integer Value), or strings. */
export async function readLabels(part: ParquetPart, column: string): Promise<Array<number | string>> {
  const values = await readColumn(part, column, 0, part.rows);
  return values.map((v, i) => {
    if (typeof v === "number" || typeof v === "bigint") return Number(v);
    if (typeof v === "string") return v;
    if (v instanceof Uint8Array) return new TextDecoder().decode(v);
    throw new VitlensError(`${part.path}: row ${i} of label column "${column}" is ${v === null ? "null" : typeof v} (expected a class index or name)`);
  });
}

export interface ParquetImages {
  parts: ParquetPart[];
  column: string;
  /** the repository folder: relative `path`s of path-only rows are resolved against it */
  root: string;
}

/**
 * Images of a parquet column (datasets' Image feature `{bytes, path}`, or plain bytes), read a
 * row group at a time and kept in a byte-bounded LRU: random access during training reads each
 * group once while it fits, and memory never holds more than `cacheBytes` of encoded images.
 */
export function parquetImageReader(src: ParquetImages, cacheBytes: number): { size: number; name(i: number): string; raw(i: number): Promise<RawImage> } {
  const starts = [0];
  for (const p of src.parts) starts.push(starts[starts.length - 1] + p.rows);
  const groups = new LruCache<{ rows: Promise<unknown[]>; bytes: number }>(cacheBytes, (v) => v.bytes);
  const locate = (i: number) => {
    let p = 0;
    while (starts[p + 1] <= i) p++;
    const row = i - starts[p];
    const part = src.parts[p];
    let g = 0;
    while (part.groupStarts[g + 1] <= row) g++;
    return { part, p, g, row };
  };
  const name = (i: number) => {
    const { part, row } = locate(i);
    return `${part.path}#${row}`;
  };
  return {
    size: starts[starts.length - 1],
    name,
    raw: async (i) => {
      const { part, p, g, row } = locate(i);
      const key = `${p}:${g}`;
      let group = groups.get(key);
      if (!group) {
        group = { rows: readColumn(part, src.column, part.groupStarts[g], part.groupStarts[g + 1]), bytes: Number(part.metadata.row_groups[g].total_byte_size) };
        groups.set(key, group);
      }
      const value = (await group.rows)[row - part.groupStarts[g]];
      return decodeCell(value, name(i), src.root, part.path);
    },
  };
}

async function decodeCell(value: unknown, name: string, root: string, file: string): Promise<RawImage> {
  const cell = value as { bytes?: Uint8Array | null; path?: string | Uint8Array | null } | Uint8Array | null;
  if (cell instanceof Uint8Array) return decodeBytesNamed(Buffer.from(cell), name);
  if (cell && cell.bytes instanceof Uint8Array && cell.bytes.length > 0) return decodeBytesNamed(Buffer.from(cell.bytes), name);
  const path = cell?.path instanceof Uint8Array ? new TextDecoder().decode(cell.path) : cell?.path;
  if (path) {
    // datasets' to_parquet of file paths leaves bytes null: the path is absolute or relative to the dataset folder
    const candidates = isAbsolute(path) ? [path] : [join(root, path), join(dirname(file), path)];
    let last: unknown;
    for (const c of candidates) {
      try {
        return await decodeRaw(c);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof UnreadableImageError ? new UnreadableImageError(name, `its path ${path}: ${last.reason}`) : last;
  }
  throw new UnreadableImageError(name, "the image cell has neither bytes nor a path");
}
