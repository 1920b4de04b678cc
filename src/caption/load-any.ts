import { existsSync } from "node:fs";
import { join } from "node:path";
import { VitlensError } from "../errors.js";
import { readJson } from "../io/read-json.js";
import { CAPTIONER_TYPE, loadCaptioner } from "./captioner.js";
import type { FolderCaptioner } from "./evaluate.js";
import { HF_CAPTIONER_TYPE, loadHfCaptioner } from "./hf-captioner.js";
import { BLIP_TYPE, loadBlipCaptioner } from "./blip-captioner.js";

/** A captioner folder of either kind, told apart by config.json's model_type. */
export function loadAnyCaptioner(dir: string, o: { warn?: (line: string) => void } = {}): FolderCaptioner {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new VitlensError(`${dir}: no config.json (expected a captioner folder: vitlens train-captioner's, or a Hugging Face VisionEncoderDecoder)`);
  const type = (readJson(cfgPath) as { model_type?: unknown }).model_type;
  if (type === HF_CAPTIONER_TYPE) return loadHfCaptioner(dir, o);
  if (type === CAPTIONER_TYPE) return loadCaptioner(dir);
  if (type === BLIP_TYPE) return loadBlipCaptioner(dir, o);
  throw new VitlensError(`${cfgPath}: model_type ${JSON.stringify(type)} is not a captioner (expected "${CAPTIONER_TYPE}", "${HF_CAPTIONER_TYPE}" or "${BLIP_TYPE}")`);
}
