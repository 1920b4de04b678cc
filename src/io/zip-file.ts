import { inflateSync } from "fflate";
import { VitlensError } from "../errors.js";
import { readAt, withOpenFile } from "./file-range.js";

/**
 * A zip file read one entry at a time from disk (its central directory first), so a multi-GB
 * .npz or torch.save archive never sits in memory whole. The same bounds as io/zip.ts: sizes
 * must fit the file (a stored entry) or deflate's ~1032:1 limit, and the directory must hold the
 * entries it counts. ZIP64 (numpy and torch write it) is understood.
 */
export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflated
  compressedSize: number;
  size: number;
  localHeader: number; // byte offset of the entry's local header
}

export class ZipFile {
  private constructor(readonly path: string, readonly fileSize: number, readonly entries: Map<string, ZipEntry>) {}

  /** Reads and validates the central directory; `what` names the format in errors (".npz (zip)"). */
  static open(path: string, what: string): ZipFile {
    return withOpenFile(path, (fd, size) => {
      try {
        return new ZipFile(path, size, readDirectory(fd, size));
      } catch (e) {
        if (e instanceof VitlensError) throw e;
        throw new VitlensError(`${path}: not a readable ${what} file (${(e as Error).message})`);
      }
    });
  }

  /** The entry's uncompressed bytes. */
  read(entry: ZipEntry): Uint8Array {
    const data = withOpenFile(this.path, (fd) => readAt(fd, this.dataStart(fd, entry), entry.compressedSize));
    if (entry.method === 0) return data;
    let out: Uint8Array;
    try {
      out = inflateSync(data, { out: new Uint8Array(entry.size) });
    } catch (e) {
      throw new VitlensError(`${this.path}: entry ${entry.name} is not valid deflate data (${(e as Error).message})`);
    }
    if (out.length !== entry.size) throw new VitlensError(`${this.path}: entry ${entry.name} inflates to ${out.length} bytes, its directory says ${entry.size}`);
    return out;
  }

  /** The first `length` bytes of a stored entry, without reading the rest; a deflated one is inflated whole. */
  readPrefix(entry: ZipEntry, length: number): Uint8Array {
    if (entry.method !== 0) return this.read(entry);
    return withOpenFile(this.path, (fd) => readAt(fd, this.dataStart(fd, entry), Math.min(length, entry.size)));
  }

  private dataStart(fd: number, entry: ZipEntry): number {
    const local = readAt(fd, entry.localHeader, 30);
    const view = new DataView(local.buffer, local.byteOffset, 30);
    if (view.getUint32(0, true) !== 0x04034b50) throw new VitlensError(`${this.path}: entry ${entry.name} has no local header where the directory says`);
    const start = entry.localHeader + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.fileSize) throw new VitlensError(`${this.path}: entry ${entry.name} runs past the end of the file`);
    return start;
  }
}

function readDirectory(fd: number, size: number): Map<string, ZipEntry> {
  const tailLength = Math.min(size, 22 + 65535 + 20 + 56);
  const tail = readAt(fd, size - tailLength, tailLength);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("no end-of-central-directory record");
  let count = tv.getUint16(eocd + 10, true);
  let dirSize = tv.getUint32(eocd + 12, true);
  let dirOffset = tv.getUint32(eocd + 16, true);
  if (eocd >= 20 && tv.getUint32(eocd - 20, true) === 0x07064b50) { // ZIP64 locator
    const at = Number(tv.getBigUint64(eocd - 20 + 8, true));
    if (at + 56 > size) throw new Error("a ZIP64 locator points nowhere");
    const rec = readAt(fd, at, 56);
    const rv = new DataView(rec.buffer, rec.byteOffset, 56);
    if (rv.getUint32(0, true) !== 0x06064b50) throw new Error("a ZIP64 locator points nowhere");
    [count, dirSize, dirOffset] = [32, 40, 48].map((o) => Number(rv.getBigUint64(o, true)));
  }
  if (dirOffset + dirSize > size || count * 46 > dirSize) throw new Error(`the directory claims ${count} entries in ${dirSize} bytes at ${dirOffset} of a ${size}-byte file`);
  const dir = readAt(fd, dirOffset, dirSize);
  const dv = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > dir.length || dv.getUint32(p, true) !== 0x02014b50) throw new Error(`directory entry ${k} is damaged`);
    const nameLength = dv.getUint16(p + 28, true);
    const extraLength = dv.getUint16(p + 30, true);
    const commentLength = dv.getUint16(p + 32, true);
    if (p + 46 + nameLength + extraLength > dir.length) throw new Error(`directory entry ${k} is damaged`);
    const name = Buffer.from(dir.subarray(p + 46, p + 46 + nameLength)).toString("utf8");
    let size32 = dv.getUint32(p + 24, true);
    let compressed32 = dv.getUint32(p + 20, true);
    let offset32 = dv.getUint32(p + 42, true);
    // ZIP64 extra field (id 1): the 64-bit values of whichever fields are 0xFFFFFFFF, in this order.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const next = () => (q + 8 <= e + 4 + len ? Number(dv.getBigUint64((q += 8) - 8, true)) : NaN);
        if (size32 === 0xffffffff) size32 = next();
        if (compressed32 === 0xffffffff) compressed32 = next();
        if (offset32 === 0xffffffff) offset32 = next();
      }
      e += 4 + len;
    }
    const method = dv.getUint16(p + 10, true);
    if (method !== 0 && method !== 8) throw new Error(`entry ${name} uses unsupported compression ${method}`);
    if (![size32, compressed32, offset32].every(Number.isSafeInteger) || offset32 + 30 + compressed32 > size) {
      throw new Error(`entry ${name} lies outside the file`);
    }
    const limit = method === 0 ? compressed32 : Math.max(1, compressed32) * 1100;
    if (method === 0 && size32 !== compressed32) throw new Error(`stored entry ${name} declares ${size32} bytes but holds ${compressed32}`);
    if (size32 > limit) throw new Error(`entry ${name} declares ${size32} bytes, more than the archive can hold`);
    entries.set(name, { name, method, compressedSize: compressed32, size: size32, localHeader: offset32 });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
