import { gunzipSync } from "node:zlib";
import { VitlensError } from "../errors.js";
import { readFileOrFail } from "../io/read-file.js";

/** An IDX file (MNIST / Fashion-MNIST format, optionally gzipped): uint8 data with its dims. */
export interface IdxArray {
  data: Uint8Array;
  dims: number[];
}

export function readIdx(path: string): IdxArray {
  let bytes = readFileOrFail(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new VitlensError(`${path}: corrupt gzip data`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new VitlensError(`${path}: not an IDX file (bad magic number)`);
  if (bytes[2] !== 0x08) throw new VitlensError(`${path}: IDX element type 0x${bytes[2].toString(16)} is not supported (expected unsigned byte, 0x08)`);
  const rank = bytes[3];
  if (rank < 1 || rank > 4 || bytes.length < 4 + 4 * rank) throw new VitlensError(`${path}: IDX header is truncated`);
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length - start !== count) {
    throw new VitlensError(`${path}: IDX dims [${dims.join(", ")}] need ${count} bytes, file has ${bytes.length - start}`);
  }
  return { data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, count), dims };
}
