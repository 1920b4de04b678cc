import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJson } from "../io/read-json.js";
import { readSafetensors, writeSafetensors } from "../checkpoint/safetensors.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Params, Tensor } from "../tensor.js";
import type { Optimizer } from "./optimizer.js";

/** Where a run stands: enough to continue exactly (the data order and augmentation derive from seed + epoch). */
export const progressSchema = z.object({
  epoch: z.number().int().nonnegative(), // current epoch (0-based)
  stepInEpoch: z.number().int().nonnegative(), // next step to run in it
  globalStep: z.number().int().nonnegative(),
  optimizerStep: z.number().int().nonnegative(),
  bestScore: z.number(), // the best epoch's score so far (-1: none yet)
  bestMetric: z.string(), // what bestScore measures: val_accuracy, train_accuracy, val_bleu4, val_token_accuracy
  bestEpoch: z.number().int(),
  skipped: z.number().int().nonnegative(),
  elapsedSeconds: z.number().nonnegative(),
});
export type Progress = z.infer<typeof progressSchema>;

export function freshProgress(bestMetric: string): Progress {
  return { epoch: 0, stepInEpoch: 0, globalStep: 0, optimizerStep: 0, bestScore: -1, bestMetric, bestEpoch: -1, skipped: 0, elapsedSeconds: 0 };
}

/**
 * States written before the run loop was shared kept the best score as `bestValAccuracy` (a
 * BLEU-4 for captioners) and no metric name: read them as what they were.
 */
function upgradeProgress(saved: Record<string, unknown>, kind: "classifier" | "captioner"): Record<string, unknown> {
  if (!("bestValAccuracy" in saved) || "bestScore" in saved) return saved;
  const { bestValAccuracy, ...rest } = saved;
  return { ...rest, bestScore: bestValAccuracy, bestMetric: kind === "captioner" ? "val_bleu4" : "val_accuracy" };
}

/**
 * A run's resumable state lives in RUN/state-<step>/ (weights, optimizer state, progress);
 * RUN/state.json names the current one and is replaced atomically only once the folder is
 * complete, so a kill at any moment leaves the previous state loadable.
 */
export function saveState(run: string, params: Params, optimizer: Optimizer, progress: Progress, options: unknown): void {
  const name = `state-${progress.globalStep}`;
  const dir = join(run, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "params.safetensors"), params);
  const moments = new Map<string, Tensor>();
  for (const [param, arrays] of optimizer.state) {
    arrays.forEach((data, i) => moments.set(`${i}.${param}`, { data, shape: [data.length] }));
  }
  writeSafetensors(join(dir, "optimizer.safetensors"), moments);
  writeFileAtomic(join(dir, "progress.json"), [JSON.stringify({ progress, options }, null, 2) + "\n"]);
  writeFileAtomic(join(run, "state.json"), [JSON.stringify({ current: name }) + "\n"]);
  for (const old of readdirSync(run)) if (/^state-\d+$/.test(old) && old !== name) rmSync(join(run, old), { recursive: true, force: true });
}

export interface LoadedState {
  params: Map<string, Tensor>;
  optimizerState: Map<string, Float32Array[]>;
  progress: Progress;
  /** As saved: the trainer checks them against its schema (run-options.ts). */
  options: unknown;
}

/** The state folder RUN/state.json names ("state-N"); null when it names none or is unreadable. Throws only with `strict`. */
export function currentState(run: string, strict = false): string | null {
  const pointer = join(run, "state.json");
  if (!existsSync(pointer)) {
    if (strict) throw new VitlensError(`--resume ${run}: not a vitlens run (no state.json)`);
    return null;
  }
  let current = "";
  try {
    current = String(readJson(pointer).current ?? "");
  } catch (e) {
    if (strict) throw e;
  }
  if (/^state-\d+$/.test(current) && existsSync(join(run, current, "progress.json"))) return current;
  if (strict) throw new VitlensError(`--resume ${run}: state.json points at a missing state folder "${current}"`);
  return null;
}

export function loadState(run: string, kind: "classifier" | "captioner"): LoadedState {
  const dir = join(run, currentState(run, true)!);
  const saved = readJson(join(dir, "progress.json"));
  const parsed = progressSchema.safeParse(upgradeProgress((saved.progress ?? {}) as Record<string, unknown>, kind));
  if (!parsed.success) {
    throw new VitlensError(`--resume ${run}: ${join(dir, "progress.json")} is not a vitlens run state (${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message})`);
  }
  const optimizerState = new Map<string, Float32Array[]>();
  for (const [key, t] of readSafetensors(join(dir, "optimizer.safetensors")).tensors) {
    const dot = key.indexOf(".");
    const slot = Number(key.slice(0, dot));
    const param = key.slice(dot + 1);
    const arrays = optimizerState.get(param) ?? [];
    arrays[slot] = t.data;
    optimizerState.set(param, arrays);
  }
  return { params: readSafetensors(join(dir, "params.safetensors")).tensors, optimizerState, progress: parsed.data, options: saved.options };
}

/** A saved state's parameters into the freshly built model (same names, same sizes). */
export function restoreParams(params: Params, saved: Params, run: string): void {
  for (const [name, t] of saved) {
    const mine = params.get(name);
    if (!mine || mine.data.length !== t.data.length) throw new VitlensError(`--resume ${run}: saved parameter ${name} does not fit the model`);
    mine.data.set(t.data);
  }
}
