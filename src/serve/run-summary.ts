import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseMetricLines, type MetricRecord } from "../train/metrics.js";
import type { RunSummary } from "./contract.js";

const readJsonOrNull = (path: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
};
const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);

/** A run that has not written for this long (and not less than 3 of its usual gaps between records) is not live. */
export const LIVE_WINDOW_MS = 10 * 60 * 1000;

/** The usual gap between the run's last records (their "time" fields), in ms, or 0. */
function usualGap(records: MetricRecord[]): number {
  const times = records.slice(-6).map((r) => Date.parse(String(r.time ?? ""))).filter((t) => Number.isFinite(t));
  if (times.length < 2) return 0;
  return (times[times.length - 1] - times[0]) / (times.length - 1);
}

/**
 * Where a run stands, from its files: run.json (kind, epochs asked for), state.json and its
 * progress.json (epochs done), metrics.jsonl (steps, the last writes), best/ and last/.
 * Finished: the saved state has run every epoch. Live: not finished, and a file was written
 * within the live window. Idle: neither (stopped, killed, or waiting to be resumed).
 */
export function runSummary(name: string, path: string, now = Date.now()): RunSummary {
  const run = readJsonOrNull(join(path, "run.json"));
  const options = (run?.options ?? null) as { epochs?: unknown } | null;
  const pointer = readJsonOrNull(join(path, "state.json"));
  const current = typeof pointer?.current === "string" && /^state-\d+$/.test(pointer.current) ? pointer.current : null;
  const saved = current ? readJsonOrNull(join(path, current, "progress.json")) : null;
  const progress = (saved?.progress ?? null) as { epoch?: unknown } | null;
  const total = typeof options?.epochs === "number" ? options.epochs : typeof (saved?.options as { epochs?: unknown } | undefined)?.epochs === "number" ? (saved!.options as { epochs: number }).epochs : null;
  const metricsPath = join(path, "metrics.jsonl");
  const records = existsSync(metricsPath) ? parseMetricLines(readFileSync(metricsPath, "utf8")) : [];
  // Epoch 0 is the starting weights' validation, not an epoch run.
  const epochsRecorded = records.filter((r) => r.type === "epoch" && Number(r.epoch) > 0).length;
  const epochsDone = typeof progress?.epoch === "number" ? progress.epoch : epochsRecorded;
  const steps = records.filter((r) => r.type === "step").length;
  const updated = Math.max(mtime(join(path, "run.json")), mtime(join(path, "state.json")), mtime(metricsPath));
  const models = ["best", "last"].map((d) => join(path, d, "model.safetensors")).filter((f) => existsSync(f));
  const model = models.length ? models.map((f) => `${f.includes("/best/") ? "best" : "last"}@${statSync(f).mtimeMs}`).join(",") : null;
  const window = Math.max(LIVE_WINDOW_MS, 3 * usualGap(records));
  let status: RunSummary["status"];
  let statusWhy: string;
  if (total !== null && epochsDone >= total) {
    status = "finished";
    statusWhy = `finished: ${epochsDone} of ${total} epochs${progress ? " (its saved state)" : " (its metrics)"}`;
  } else if (updated && now - updated < window) {
    status = "live";
    statusWhy = `live: ${epochsDone} of ${total ?? "?"} epochs done, last write ${Math.round((now - updated) / 1000)} s ago`;
  } else {
    status = "idle";
    statusWhy = `not finished (${epochsDone} of ${total ?? "?"} epochs) and no write for ${updated ? `${Math.round((now - updated) / 60000)} min` : "a while"}: stopped, or waiting for --resume`;
  }
  return {
    name, kind: typeof run?.kind === "string" ? run.kind : null, status, statusWhy, epochsDone, epochsTotal: total, steps,
    updated: updated ? new Date(updated).toISOString() : null, model,
  };
}
