import { existsSync } from "node:fs";
import { join } from "node:path";
import { VIT_PRESETS } from "../models/vit-config.js";
import { hubOptionsFromEnv } from "../hub/download.js";
import { downloadModel, parseHubId } from "../hub/snapshot.js";
import { downloadProgress } from "./progress.js";
import { CAPTIONER_PRESETS, captionerPreset } from "../caption/captioner-presets.js";
import type { AnyCaptioner } from "../caption/evaluate.js";
import { CAPTIONER_HUB_FILES, loadAnyCaptioner } from "../caption/load-any.js";

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

/**
 * A captioner `--model`: a train-captioner run or folder, a Hugging Face VisionEncoderDecoder
 * folder or Hub id (downloaded with its tokenizer and generation config), or a preset (random
 * weights at real shapes).
 */
export async function resolveCaptioner(spec: string): Promise<AnyCaptioner> {
  if (!existsSync(spec) && spec in CAPTIONER_PRESETS) return captionerPreset(spec);
  return loadAnyCaptioner(await resolveCaptionerDir(spec), { warn });
}

/** A captioner folder: a run's best/, a folder, or a Hub id's snapshot (downloaded with its tokenizer and generation config). */
export async function resolveCaptionerDir(spec: string): Promise<string> {
  if (existsSync(spec) || !parseHubId(spec)) return resolveModelPath(spec);
  return downloadModel(spec, { ...hubOptionsFromEnv(), progress: downloadProgress(), warn }, { optionalFiles: CAPTIONER_HUB_FILES });
}

const warn = (line: string) => process.stderr.write(`vitlens: ${line}\n`);
