import { readFileOrFail } from "../io/read-file.js";
import { unzipBounded } from "../io/zip.js";
import { VitlensError } from "../errors.js";
import { numel, type Tensor } from "../tensor.js";
import { floatsToFloat32 } from "./elements.js";
import { DTYPE_SIZES } from "./safetensors.js";
import { fortranStrides, gather } from "./strided.js";

/** numpy's type codes (kind + item size) under safetensors' dtype names. */
const NPY_DTYPES: Record<string, string> = {
  f2: "F16", f4: "F32", f8: "F64", i1: "I8", i2: "I16", i4: "I32", i8: "I64",
  u1: "U8", u2: "U16", u4: "U32", u8: "U64", b1: "BOOL",
};

export interface NpyHeader {
  descr: string; // numpy's own, e.g. '>f4'
  dtype: string | null; // safetensors' name (F32, I64, ...); null for what vitlens cannot read (objects, records)
  littleEndian: boolean;
  fortranOrder: boolean; // column-major data (numpy's choice for F-contiguous arrays of 2+ dimensions)
  shape: number[];
  dataStart: number; // byte offset of the data in the .npy
  dataBytes: number; // numel * item size (0 when dtype is null)
}

/** The byte offset where a .npy's data starts, from its first 12 bytes (format 1.0-3.0). */
export function npyDataStart(bytes: Uint8Array, name: string): number {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw npyError(name, "bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major !== 1 && bytes.length < 12) throw npyError(name, "the header is truncated");
  return major === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
}

/** Parses a .npy header: dtype and byte order, memory order, shape. `bytes` may stop after it. */
export function parseNpyHeader(bytes: Uint8Array, name: string): NpyHeader {
  const start = npyDataStart(bytes, name);
  if (start > bytes.length) throw npyError(name, "header runs past the end");
  const header = Buffer.from(bytes.subarray(bytes[6] === 1 ? 10 : 12, start)).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? /'descr':\s*(\[[^\]]*\])/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw npyError(name, "header lacks descr, fortran_order or shape");
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw npyError(name, `invalid shape (${shapeText})`);
  // '<' little-endian, '>' big-endian, '|' byte order does not apply, '=' native (little on every Node platform)
  const order = descr[0];
  const dtype = "<>|=".includes(order) ? (NPY_DTYPES[descr.slice(1)] ?? null) : null;
  return {
    descr, dtype, littleEndian: order !== ">", fortranOrder: fortran === "True", shape,
    dataStart: start, dataBytes: dtype ? numel(shape) * DTYPE_SIZES[dtype] : 0,
  };
}

/**
 * Parses one .npy file (format 1.0-3.0) holding float16/32/64 in either byte order, C or Fortran
 * order (numpy writes Fortran order for a transposed view passed to np.savez), as a row-major
 * float32 tensor.
 */
export function parseNpy(bytes: Uint8Array, name: string): Tensor {
  const h = parseNpyHeader(bytes, name);
  if (h.dtype !== "F16" && h.dtype !== "F32" && h.dtype !== "F64") {
    throw npyError(name, `dtype ${h.descr} is not supported (expected float16/32/64, either byte order)`);
  }
  const data = bytes.subarray(h.dataStart);
  if (data.length !== h.dataBytes) throw npyError(name, `shape (${h.shape}) of ${h.descr} needs ${h.dataBytes} bytes, found ${data.length}`);
  const values = floatsToFloat32(data, h.dtype, numel(h.shape), h.littleEndian); // in file order
  if (!h.fortranOrder || h.shape.length < 2) return { data: values, shape: h.shape };
  return { data: gather(values, { offset: 0, size: h.shape, stride: fortranStrides(h.shape) }), shape: h.shape };
}

/** Reads every .npy array of an .npz (zip) file, named without the .npy suffix. */
export function readNpz(path: string): Map<string, Tensor> {
  const bytes = readFileOrFail(path);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipBounded(bytes, (name) => name.endsWith(".npy"));
  } catch (e) {
    throw new VitlensError(`${path}: not a readable .npz (zip) file (${(e as Error).message})`);
  }
  const out = new Map<string, Tensor>();
  for (const [name, bytes] of Object.entries(files)) out.set(name.slice(0, -4), parseNpy(bytes, `${path}:${name}`));
  if (out.size === 0) throw new VitlensError(`${path}: no .npy arrays inside`);
  return out;
}

function npyError(name: string, why: string): VitlensError {
  return new VitlensError(`${name}: not a readable .npy array: ${why}`);
}
