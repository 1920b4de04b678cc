import { readSync } from "node:fs";
import { withOpenFile } from "../io/file-range.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { numel, type Tensor } from "../tensor.js";
import { decodeFloats } from "./dtype.js";

/** Bytes per element of every dtype the safetensors format defines. */
export const DTYPE_SIZES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};
const FLOAT_DTYPES = new Set(["F32", "F16", "BF16"]);

/** A header larger than this is refused before anything is allocated (real headers are < 1 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number; // byte offsets inside the data section
  end: number;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>; // float tensors, widened to float32
  skipped: Map<string, string>; // non-float tensors (e.g. int64 position_ids): name -> dtype
  metadata: Record<string, string>;
}

/** Parses and validates the header of a safetensors file of `fileSize` bytes. */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array, fileSize: number, file: string,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const bad = (why: string) => new VitlensError(`${file}: not a valid safetensors file: ${why}`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(headerBytes).toString("utf8"));
  } catch {
    throw bad("the header is not valid JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad("the header is not a JSON object");
  const dataSize = fileSize - 8 - headerBytes.length;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) throw bad("__metadata__ is not an object");
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v !== "object" || v === null) throw bad(`tensor "${name}" is not an object`);
    if (typeof v.dtype !== "string" || !(v.dtype in DTYPE_SIZES)) throw bad(`tensor "${name}" has unknown dtype ${JSON.stringify(v.dtype)}`);
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor "${name}" has an invalid shape`);
    const offsets = v.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offsets as number[];
    const shape = v.shape as number[];
    const expected = numel(shape) * DTYPE_SIZES[v.dtype];
    if (end < begin || end > dataSize) throw bad(`tensor "${name}" lies outside the file (bytes ${begin}..${end} of ${dataSize})`);
    if (end - begin !== expected) {
      throw bad(`tensor "${name}" has ${end - begin} bytes but shape [${shape.join(", ")}] of ${v.dtype} needs ${expected}`);
    }
    entries.set(name, { dtype: v.dtype, shape, begin, end });
  }
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i][1].begin < sorted[i - 1][1].end) throw bad(`tensors "${sorted[i - 1][0]}" and "${sorted[i][0]}" overlap`);
  }
  return { entries, metadata };
}

/** Reads and validates an open safetensors file's header; tensor data starts at `dataStart`. */
export function readSafetensorsHeader(fd: number, size: number, path: string): ReturnType<typeof parseSafetensorsHeader> & { dataStart: number } {
  if (size < 8) throw new VitlensError(`${path}: not a valid safetensors file: only ${size} bytes`);
  const lenBytes = Buffer.alloc(8);
  readSync(fd, lenBytes, 0, 8, 0);
  const headerLen = lenBytes.readBigUInt64LE(0);
  if (headerLen > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
    throw new VitlensError(`${path}: not a valid safetensors file: header length ${headerLen} exceeds the file (${size} bytes) or the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Buffer.alloc(Number(headerLen));
  readSync(fd, headerBytes, 0, headerBytes.length, 8);
  return { ...parseSafetensorsHeader(headerBytes, size, path), dataStart: 8 + headerBytes.length };
}

/** Reads a safetensors file: the header is validated before any tensor is read or allocated. */
export function readSafetensors(path: string): SafetensorsFile {
  return withOpenFile(path, (fd, size) => {
    const { entries, metadata, dataStart } = readSafetensorsHeader(fd, size, path);
    const tensors = new Map<string, Tensor>();
    const skipped = new Map<string, string>();
    for (const [name, e] of entries) {
      if (!FLOAT_DTYPES.has(e.dtype)) {
        skipped.set(name, e.dtype);
        continue;
      }
      const bytes = Buffer.alloc(e.end - e.begin);
      readSync(fd, bytes, 0, bytes.length, dataStart + e.begin);
      tensors.set(name, { data: decodeFloats(bytes, e.dtype as "F32" | "F16" | "BF16"), shape: e.shape });
    }
    return { tensors, skipped, metadata };
  });
}

/** Writes float32 tensors as safetensors (atomically). `format: pt` metadata lets HF transformers load it. */
export function writeSafetensors(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = { format: "pt" }): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== numel(t.shape)) throw new Error(`writeSafetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // 8-byte aligned data section
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const chunks: Array<Uint8Array | string> = [len, json];
  for (const t of tensors.values()) chunks.push(littleEndianBytes(t.data));
  writeFileAtomic(path, chunks);
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  // x86 and ARM Node builds are little-endian; the view avoids a copy.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
