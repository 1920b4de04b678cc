import { existsSync, readFileSync } from "node:fs";
import { VitlensError } from "../errors.js";

/**
 * `--labels FILE`: one class name per line (blank lines at the end ignored), in class order,
 * as many as the checkpoint has classes.
 */
export function readLabelsFile(file: string, numClasses: number): string[] {
  if (!existsSync(file)) throw new VitlensError(`--labels ${file}: no such file`);
  const lines = readFileSync(file, "utf8").replace(/^\uFEFF/, "").split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== numClasses) {
    throw new VitlensError(`--labels ${file}: ${lines.length} name(s), but the checkpoint has ${numClasses} classes (one name per line expected)`);
  }
  const blank = lines.indexOf("");
  if (blank >= 0) throw new VitlensError(`--labels ${file}: line ${blank + 1} is empty (one name per line expected)`);
  return lines;
}
