import { existsSync, mkdirSync, statSync } from "node:fs";
import { VitlensError } from "../errors.js";

/** An output folder: created if missing, refused if it is a file. */
export function outputFolder(dir: string, flag = "--out"): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new VitlensError(`${flag} ${dir}: exists and is a file (expected a folder)`);
  mkdirSync(dir, { recursive: true });
}

/** Refuses to replace a user's file unless --force. */
export function checkOverwrite(path: string, force: boolean | undefined): void {
  if (existsSync(path) && !force) throw new VitlensError(`${path}: exists (use --force to overwrite)`);
}
