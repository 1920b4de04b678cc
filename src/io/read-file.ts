import { readFileSync } from "node:fs";
import { VitlensError } from "../errors.js";

/** The file's bytes, or a one-line error naming it and why (ENOENT, EACCES, EISDIR, ...). */
export function readFileOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new VitlensError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
