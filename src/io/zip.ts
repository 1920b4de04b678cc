import { unzipSync, type UnzipFileInfo } from "fflate";

/**
 * Unzips in memory, refusing entries whose declared size could not come from this file: a
 * stored entry larger than the archive, or a deflated one beyond deflate's ~1032:1 limit. A
 * corrupted size field then fails fast instead of allocating gigabytes.
 */
export function unzipBounded(bytes: Uint8Array, keep: (name: string) => boolean = () => true): Record<string, Uint8Array> {
  checkDirectory(bytes);
  return unzipSync(bytes, {
    filter: (f: UnzipFileInfo) => {
      const limit = f.compression === 0 ? bytes.length : Math.max(1, f.size) * 1100;
      if (f.originalSize > limit) throw new Error(`entry ${f.name} declares ${f.originalSize} bytes, more than the archive can hold`);
      if (f.compression !== 0 && f.compression !== 8) throw new Error(`entry ${f.name} uses unsupported compression ${f.compression}`);
      return keep(f.name);
    },
  });
}

/**
 * The end-of-central-directory records (classic and ZIP64) must describe a directory inside the
 * file with room for every entry it counts (46 bytes each at least). fflate trusts these counts,
 * and a corrupted ZIP64 count (up to 2^64) would keep it looping for hours (found by fuzzing).
 */
function checkDirectory(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("no end-of-central-directory record");
  const check = (entries: number, size: number, offset: number, what: string) => {
    if (offset + size > bytes.length || entries * 46 > size) throw new Error(`${what} claims ${entries} entries in ${size} bytes at ${offset} of a ${bytes.length}-byte file`);
  };
  check(view.getUint16(eocd + 10, true), view.getUint32(eocd + 12, true), view.getUint32(eocd + 16, true), "the directory record");
  const locator = eocd - 20;
  if (locator >= 0 && view.getUint32(locator, true) === 0x07064b50) {
    const at = Number(view.getBigUint64(locator + 8, true));
    if (at + 56 > bytes.length || view.getUint32(at, true) !== 0x06064b50) throw new Error("a ZIP64 locator points nowhere");
    check(Number(view.getBigUint64(at + 32, true)), Number(view.getBigUint64(at + 40, true)), Number(view.getBigUint64(at + 48, true)), "the ZIP64 directory record");
  }
}
