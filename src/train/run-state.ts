import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readJson } from "../io/read-json.js";
import { readSafetensors, writeSafetensors } from "../checkpoint/safetensors.js";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { Params } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import type { Optimizer } from "./optimizer.js";

/** Where a run stands: enough to continue exactly (the data order and augmentation derive from seed + epoch). */
export interface Progress {
  epoch: number; // current epoch (0-based)
  stepInEpoch: number; // next step to run in it
  globalStep: number;
  optimizerStep: number;
  bestValAccuracy: number;
  bestEpoch: number;
  skipped: number;
  elapsedSeconds: number;
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
  options: Record<string, unknown>;
}

export function loadState(run: string): LoadedState {
  const pointer = join(run, "state.json");
  if (!existsSync(pointer)) throw new VitlensError(`--resume ${run}: not a vitlens run (no state.json)`);
  const current = String(readJson(pointer).current ?? "");
  const dir = join(run, current);
  if (!/^state-\d+$/.test(current) || !existsSync(join(dir, "progress.json"))) {
    throw new VitlensError(`--resume ${run}: state.json points at a missing state folder "${current}"`);
  }
  const { progress, options } = readJson(join(dir, "progress.json")) as { progress: Progress; options: Record<string, unknown> };
  const optimizerState = new Map<string, Float32Array[]>();
  for (const [key, t] of readSafetensors(join(dir, "optimizer.safetensors")).tensors) {
    const dot = key.indexOf(".");
    const slot = Number(key.slice(0, dot));
    const param = key.slice(dot + 1);
    const arrays = optimizerState.get(param) ?? [];
    arrays[slot] = t.data;
    optimizerState.set(param, arrays);
  }
  return { params: readSafetensors(join(dir, "params.safetensors")).tensors, optimizerState, progress, options };
}
