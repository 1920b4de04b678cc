import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes `chunks` to `path` through a temp file in the same folder, fsynced, then renamed over
 * the target: a crash or a full disk leaves the old file intact, never a half-written one.
 */
export function writeFileAtomic(path: string, chunks: Array<Uint8Array | string>): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    for (const chunk of chunks) writeAll(fd, typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}
