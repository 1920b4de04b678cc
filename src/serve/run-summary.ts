import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseMetricLines, type MetricRecord } from "../train/metrics.js";
import { currentState } from "../train/run-state.js";
import type { RunSummary } from "./contract.js";

const readJsonOrNull = (path: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(readFileSync(path, "utf8"));
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
};

/** A run that has not written for this long (and not less than 3 of its usual gaps between records) is not live. */
export const LIVE_WINDOW_MS = 10 * 60 * 1000;

/** The usual gap between the run's last records (their "time" fields), in ms, or 0. */
function usualGap(records: MetricRecord[]): number {
  const times = records.slice(-6).map((r) => Date.parse(String(r.time ?? ""))).filter((t) => Number.isFinite(t));
  if (times.length < 2) return 0;
  return (times[times.length - 1] - times[0]) / (times.length - 1);
}

interface RunFacts {
  kind: string | null;
  total: number | null;
  epochsDone: number;
  steps: number;
  /** The usual gap between its last records (ms). */
  gap: number;
  /** The last write to run.json, state.json or metrics.jsonl (ms since the epoch), or 0. */
  updated: number;
  fromState: boolean;
}

/** What a run's files say, read again only when one of them changed (the runs list is polled). */
const facts = new Map<string, { key: string; facts: RunFacts }>();

function runFacts(path: string): RunFacts {
  const files = ["run.json", "state.json", "metrics.jsonl"].map((f) => join(path, f));
  const stats = files.map((f) => (existsSync(f) ? statSync(f) : null));
  const key = stats.map((st) => (st ? `${st.mtimeMs}/${st.size}` : "-")).join("|");
  const known = facts.get(path);
  if (known?.key === key) return known.facts;
  const run = readJsonOrNull(files[0]);
  const options = (run?.options ?? null) as { epochs?: unknown } | null;
  const current = currentState(path);
  const saved = current ? readJsonOrNull(join(path, current, "progress.json")) : null;
  const progress = (saved?.progress ?? null) as { epoch?: unknown } | null;
  const savedEpochs = (saved?.options as { epochs?: unknown } | undefined)?.epochs;
  const total = typeof options?.epochs === "number" ? options.epochs : typeof savedEpochs === "number" ? savedEpochs : null;
  const records = stats[2] ? parseMetricLines(readFileSync(files[2], "utf8")) : [];
  // Epoch 0 is the starting weights' validation, not an epoch run.
  const epochsRecorded = records.filter((r) => r.type === "epoch" && Number(r.epoch) > 0).length;
  const out: RunFacts = {
    kind: typeof run?.kind === "string" ? run.kind : null, total,
    epochsDone: typeof progress?.epoch === "number" ? progress.epoch : epochsRecorded,
    steps: records.filter((r) => r.type === "step").length, gap: usualGap(records),
    updated: Math.max(0, ...stats.map((st) => st?.mtimeMs ?? 0)), fromState: typeof progress?.epoch === "number",
  };
  facts.set(path, { key, facts: out });
  return out;
}

/**
 * Where a run stands, from its files: run.json (kind, epochs asked for), state.json and its
 * progress.json (epochs done), metrics.jsonl (steps, the last writes), best/ and last/.
 * Finished: the saved state has run every epoch. Live: not finished, and a file was written
 * within the live window. Idle: neither (stopped, killed, or waiting to be resumed).
 */
export function runSummary(name: string, path: string, now = Date.now()): RunSummary {
  const { kind, total, epochsDone, steps, gap, updated, fromState } = runFacts(path);
  const models = ["best", "last"].map((d) => join(path, d, "model.safetensors")).filter((f) => existsSync(f));
  const model = models.length ? models.map((f) => `${f.includes("/best/") ? "best" : "last"}@${statSync(f).mtimeMs}`).join(",") : null;
  const window = Math.max(LIVE_WINDOW_MS, 3 * gap);
  let status: RunSummary["status"];
  let statusWhy: string;
  if (total !== null && epochsDone >= total) {
    status = "finished";
    statusWhy = `finished: ${epochsDone} of ${total} epochs${fromState ? " (its saved state)" : " (its metrics)"}`;
  } else if (updated && now - updated < window) {
    status = "live";
    statusWhy = `live: ${epochsDone} of ${total ?? "?"} epochs done, last write at ${new Date(updated).toISOString()}`;
  } else {
    status = "idle";
    statusWhy = `not finished (${epochsDone} of ${total ?? "?"} epochs) and no write since ${updated ? new Date(updated).toISOString() : "it started"} (${Math.round(window / 60000)} min without one ends "live"): stopped, or waiting for --resume`;
  }
  return {
    name, kind, status, statusWhy, epochsDone, epochsTotal: total, steps,
    updated: updated ? new Date(updated).toISOString() : null, model,
  };
}
