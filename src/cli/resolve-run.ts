import { existsSync } from "node:fs";
import { hubOptionsFromEnv } from "../hub/download.js";
import { resolveModelSpec, runBestModel } from "../hub/model-spec.js";
import type { DatasetSelection } from "../data/hf-dataset.js";
import { downloadDataset, parseDatasetId } from "../hub/dataset-snapshot.js";
import { downloadProgress } from "./progress.js";
import { CAPTIONER_PRESETS, captionerPreset } from "../caption/captioner-presets.js";
import type { AnyCaptioner } from "../caption/evaluate.js";
import { CAPTIONER_SIDE_FILES } from "../caption/captioner-files.js";
import { loadAnyCaptioner } from "../caption/load-any.js";
import { loadCatrCaptioner } from "../caption/catr-captioner.js";
import { catrPreset } from "../caption/catr-preset.js";
import { CATR_TOKENIZER, resolveWordPieceTokenizer } from "../caption/wordpiece-tokenizer.js";
import { statSync } from "node:fs";
import { VitlensError } from "../errors.js";
import { isCatrName, resolveTorchHubCheckpoint } from "../hub/torch-hub.js";
import type { Backend } from "../backend/backend.js";

/** `--model RUN` means the run's best model; anything else is passed through to loadModel. */
export const resolveModelPath = runBestModel;

/**
 * `--model` as a local path: a run folder (its best model), a model directory or file, a preset,
 * or a Hugging Face Hub id (owner/name[@revision], hf-hub:owner/name, hf:owner/name) downloaded
 * into the HF cache first. A local path wins over a hub id of the same spelling; a spec that looks
 * like a path and does not exist is "no such file" (hub/model-spec.ts).
 */
export async function resolveModel(spec: string, flag = "--model"): Promise<string> {
  return resolveModelSpec(spec, cliHubOptions(), { flag });
}

/** The HF_* variables, with the CLI's progress and warnings. */
function cliHubOptions() {
  return { ...hubOptionsFromEnv(), progress: downloadProgress(), warn };
}

/** `--data hf:owner/name[@revision]`: the dataset's card and the parquet files of `select` downloaded into the HF cache first; anything else as given. */
export async function resolveData(spec: string, select: DatasetSelection = {}): Promise<string> {
  if (spec.startsWith("hf:") && !parseDatasetId(spec)) throw new VitlensError(`--data ${spec}: expected hf:owner/name[@revision] (a Hub dataset id with its owner, e.g. hf:AI-Lab-Makerere/beans)`);
  if (!parseDatasetId(spec)) return spec;
  return downloadDataset(spec, { ...hubOptionsFromEnv(), progress: downloadProgress(), warn }, select);
}

/** What a CATR checkpoint does not record: --tokenizer, --heads, --no-dilation. */
export interface CatrFlags {
  tokenizer?: string;
  heads?: number;
  dilation?: boolean;
}

/**
 * A captioner `--model`: a train-captioner run or folder, a Hugging Face VisionEncoderDecoder
 * folder or Hub id (downloaded with its tokenizer and generation config), a CATR checkpoint file
 * or release name (catr-v1/2/3), or a preset (random weights at real shapes: vit-gpt2, catr).
 */
export async function resolveCaptioner(spec: string, flags: CatrFlags = {}, o: { backend?: Backend } = {}): Promise<AnyCaptioner> {
  // `backend`: what a CATR backbone's convolutions are prepared on (bench --profile passes its timed one).
  if (!existsSync(spec) && spec === "catr") return catrPreset({ backend: o.backend });
  if (!existsSync(spec) && spec in CAPTIONER_PRESETS) return captionerPreset(spec);
  const catrFile = isCatrName(spec) && !existsSync(spec) ? await resolveCatrSource(spec) : existsSync(spec) && statSync(spec).isFile() ? spec : null;
  if (catrFile !== null) {
    const tokenizer = await resolveWordPieceTokenizer(flags.tokenizer ?? CATR_TOKENIZER, { ...hubOptionsFromEnv(), progress: downloadProgress(), warn });
    return loadCatrCaptioner(catrFile, tokenizer, { heads: flags.heads, dilation: flags.dilation, backend: o.backend });
  }
  if (flags.tokenizer !== undefined || flags.heads !== undefined || flags.dilation === false) {
    throw new VitlensError(`--tokenizer, --heads and --no-dilation apply to CATR checkpoints (a .pth file or catr-v1/2/3); ${spec} is a captioner folder`);
  }
  return loadAnyCaptioner(await resolveCaptionerDir(spec), { warn });
}

/** The local path of a CATR release (catr-v1/2/3): torch.hub's cache ($TORCH_HOME/hub/checkpoints/), downloaded on first use. */
export async function resolveCatrSource(spec: string): Promise<string> {
  return resolveTorchHubCheckpoint(spec, { offline: hubOptionsFromEnv().offline, progress: downloadProgress(), warn });
}

/** A captioner folder: a run's best/, a folder, or a Hub id's snapshot (downloaded with its tokenizer and generation config). */
export async function resolveCaptionerDir(spec: string, flag = "--model"): Promise<string> {
  return resolveModelSpec(spec, cliHubOptions(), { flag, optionalFiles: CAPTIONER_SIDE_FILES });
}

const warn = (line: string) => process.stderr.write(`vitlens: ${line}\n`);
