import { existsSync } from "node:fs";
import { join } from "node:path";
import { VIT_PRESETS } from "../models/vit-config.js";
import { hubOptionsFromEnv } from "../hub/download.js";
import { downloadModel, parseHubId } from "../hub/snapshot.js";
import { downloadProgress } from "./progress.js";

/** `--model RUN` means the run's best model; anything else is passed through to loadModel. */
export function resolveModelPath(spec: string): string {
  return existsSync(join(spec, "best", "config.json")) ? join(spec, "best") : spec;
}

/**
 * `--model` as a local path: a run folder (its best model), a model directory or file, a preset,
 * or a Hugging Face Hub id (owner/name[@revision]) downloaded into the HF cache first.
 * A local path wins over a hub id of the same spelling.
 */
export async function resolveModel(spec: string): Promise<string> {
  if (existsSync(spec) || spec in VIT_PRESETS || !parseHubId(spec)) return resolveModelPath(spec);
  const opts = { ...hubOptionsFromEnv(), progress: downloadProgress(), warn: (line: string) => process.stderr.write(`vitlens: ${line}\n`) };
  return downloadModel(spec, opts);
}
