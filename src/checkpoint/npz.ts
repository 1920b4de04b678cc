import { readFileOrFail } from "../io/read-file.js";
import { unzipBounded } from "../io/zip.js";
import { VitlensError } from "../errors.js";
import { numel, type Tensor } from "../tensor.js";
import { decodeFloats } from "./dtype.js";

/** Parses one .npy file (format 1.0-3.0): little-endian float16/32/64, C order. */
export function parseNpy(bytes: Uint8Array, name: string): Tensor {
  const bad = (why: string) => new VitlensError(`${name}: not a readable .npy array: ${why}`);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw bad("bad magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) throw bad("header runs past the end");
  const header = Buffer.from(bytes.subarray(major === 1 ? 10 : 12, start)).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad("header lacks descr, fortran_order or shape");
  if (fortran === "True") throw bad("Fortran-ordered arrays are not supported (save with C order)");
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`invalid shape (${shapeText})`);
  const sizes: Record<string, number> = { "<f2": 2, "<f4": 4, "<f8": 8 };
  const size = sizes[descr];
  if (!size) throw bad(`dtype ${descr} is not supported (expected little-endian float16/32/64)`);
  const data = bytes.subarray(start);
  if (data.length !== numel(shape) * size) throw bad(`shape (${shape}) of ${descr} needs ${numel(shape) * size} bytes, found ${data.length}`);
  if (descr === "<f8") {
    const aligned = new Float64Array(data.slice().buffer);
    return { data: Float32Array.from(aligned), shape };
  }
  return { data: decodeFloats(data.slice(), descr === "<f4" ? "F32" : "F16"), shape };
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
