import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { VitlensError } from "../errors.js";
import { finishFilesWhenStdoutCloses } from "./stdio.js";

/*
 * One rule for every path a command writes (--out, --csv, --raw, a report): checked, and its
 * folder created, before any work — before a model is loaded or an image read — so a typo costs
 * one line, not a run. An existing file is replaced only with --force. A folder made here that is
 * still empty when the command fails is removed again: a refused run leaves no empty --out behind.
 */

/** The folders prepareOutputs created (the first new one of each path), removed at a failed exit while empty. */
const createdFolders: string[] = [];
let cleanupArmed = false;

function removeEmptyFoldersOnFailure(code: number): void {
  if (code === 0) return;
  for (const dir of createdFolders.reverse()) {
    try {
      if (onlyEmptyFolders(dir)) removeEmptyTree(dir);
    } catch {
      // best effort: the command's own error is what the user needs to read
    }
  }
}

function onlyEmptyFolders(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  return readdirSync(dir).every((name) => onlyEmptyFolders(join(dir, name)));
}

function removeEmptyTree(dir: string): void {
  for (const name of readdirSync(dir)) removeEmptyTree(join(dir, name));
  rmdirSync(dir);
}

export interface Output {
  /** The flag that named it (said in errors); omitted for files a command names itself inside an --out folder. */
  flag?: string;
  path: string;
  kind: "file" | "folder";
}

/** Checks every output, creating the folders they go in; a command that writes files finishes them even when stdout closes. */
export function prepareOutputs(outputs: Array<Output | null | undefined | false>, force = false): void {
  for (const o of outputs) {
    if (!o) continue;
    const what = o.flag ? `${o.flag} ${o.path}` : o.path;
    if (o.kind === "folder") {
      makeFolder(o.path, what);
      continue;
    }
    if (existsSync(o.path)) {
      if (statSync(o.path).isDirectory()) throw new VitlensError(`${what}: is a folder (expected a file name)`);
      if (!force) throw new VitlensError(`${what}: ${o.flag ? "file " : ""}exists (use --force to overwrite)`);
    }
    makeFolder(dirname(o.path), `${what}: its folder ${dirname(o.path)}`);
  }
  finishFilesWhenStdoutCloses();
}

/** An output folder: created if missing, refused if it is a file or cannot be written. */
function makeFolder(dir: string, what: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new VitlensError(`${what}: exists and is a file (expected a folder)`);
  try {
    const made = mkdirSync(dir, { recursive: true }); // the first folder it created, if any
    if (made) {
      createdFolders.push(made);
      if (!cleanupArmed) process.once("exit", removeEmptyFoldersOnFailure);
      cleanupArmed = true;
    }
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOTDIR" ? "a part of the path is a file" : err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS" ? "not writable" : err.message;
    throw new VitlensError(`${what}: cannot be written (${why})`);
  }
}

/** An output folder: created if missing, refused if it is a file. */
export function outputFolder(dir: string, flag = "--out"): void {
  prepareOutputs([{ flag, path: dir, kind: "folder" }]);
}

