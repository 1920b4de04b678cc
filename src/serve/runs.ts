import { existsSync, lstatSync, readdirSync, realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, sep } from "node:path";
import { parseMetricLines, type MetricRecord } from "../train/metrics.js";

const RUN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Run folders directly under `dir` (holding run.json or metrics.jsonl), symlinks leading out of `dir` left out. */
export function listRuns(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => resolveRun(dir, name) !== null).sort();
}

/**
 * The folder of run `name` under `dir`, or null (the server answers 404): only plain names,
 * no "..", no absolute paths, and the real path (symlinks followed) must stay inside `dir`.
 */
export function resolveRun(dir: string, name: string): string | null {
  if (!RUN_NAME.test(name) || name.includes("..")) return null;
  const path = join(dir, name);
  try {
    if (!lstatSync(path).isDirectory() && !lstatSync(path).isSymbolicLink()) return null;
    const root = realpathSync(dir);
    const real = realpathSync(path);
    if (!real.startsWith(root + sep)) return null;
    if (!existsSync(join(real, "run.json")) && !existsSync(join(real, "metrics.jsonl"))) return null;
    // The files the server reads must not lead out either.
    for (const f of ["run.json", "metrics.jsonl"]) {
      if (existsSync(join(real, f)) && !realpathSync(join(real, f)).startsWith(real + sep)) return null;
    }
    return real;
  } catch {
    return null;
  }
}

/**
 * Follows a growing metrics.jsonl: each poll returns the records of the new complete lines (a
 * partial last line waits for its newline), or, when the file no longer starts with what was
 * read (a resumed run replaced it by a shorter one), all its records with reset = true.
 */
export class MetricsTail {
  private consumed = "";

  constructor(private readonly path: string) {}

  async poll(): Promise<{ reset: boolean; records: MetricRecord[] } | null> {
    const text = await readFile(this.path, "utf8").catch(() => "");
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    if (complete === this.consumed) return null;
    if (complete.startsWith(this.consumed)) {
      const added = complete.slice(this.consumed.length);
      this.consumed = complete;
      return { reset: false, records: parseMetricLines(added) };
    }
    this.consumed = complete;
    return { reset: true, records: parseMetricLines(complete) };
  }
}
