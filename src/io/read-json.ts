import { VitlensError } from "../errors.js";
import { readFileOrFail } from "./read-file.js";

/** A JSON object from a file, or a one-line error naming the file. */
export function readJson(path: string): Record<string, unknown> {
  const text = readFileOrFail(path).toString("utf8");
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value;
  } catch {
    throw new VitlensError(`${path}: not a JSON object`);
  }
}
