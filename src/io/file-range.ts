import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { VitlensError } from "../errors.js";

/** Runs `use` with the file open for reading (and its size); a file that cannot be opened is one line. */
export function withOpenFile<T>(path: string, use: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new VitlensError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return use(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes at `position`; a file that ends early throws (plain Error: callers name the format). */
export function readAt(fd: number, position: number, length: number): Uint8Array {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new Error(`the file ends at byte ${position + done}, ${length - done} bytes early`);
    done += n;
  }
  return out;
}
