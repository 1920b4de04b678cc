import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/atomic-write.js";

/** One line of RUN/metrics.jsonl: `type` "step" (global_step) or "epoch" (epoch), plus the numbers. */
export type MetricRecord = Record<string, unknown> & { type?: string };

/**
 * The records of a metrics.jsonl. Lines that do not parse are skipped: a run killed while
 * appending leaves a partial last line, and a live reader may catch a line half written.
 */
export function readMetrics(path: string): MetricRecord[] {
  if (!existsSync(path)) return [];
  return parseMetricLines(readFileSync(path, "utf8"));
}

/** The records of metrics.jsonl text, with the same tolerance (a live tail reads it this way too). */
export function parseMetricLines(text: string): MetricRecord[] {
  const records: MetricRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) records.push(value);
    } catch {
      // partial or corrupt line: not a record
    }
  }
  return records;
}

export function appendMetric(path: string, record: MetricRecord): void {
  appendFileSync(path, JSON.stringify(record) + "\n");
}

/**
 * On resume: keep only what the restored state had already done (steps up to `globalStep`,
 * epochs up to `epoch`), so the steps redone after a kill are not recorded twice. Replaced
 * atomically: a kill during the rewrite leaves the old file.
 */
export function truncateMetrics(path: string, at: { globalStep: number; epoch: number }): number {
  if (!existsSync(path)) return 0;
  const all = readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).length;
  const kept = readMetrics(path).filter((r) =>
    r.type === "step" ? Number(r.global_step) <= at.globalStep : r.type === "epoch" ? Number(r.epoch) <= at.epoch : true);
  writeFileAtomic(path, [kept.map((r) => JSON.stringify(r) + "\n").join("")]);
  return all - kept.length;
}
