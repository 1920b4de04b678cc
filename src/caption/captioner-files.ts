import { copyFileSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { readSafetensors } from "../checkpoint/safetensors.js";
import { readShardedSafetensors, SHARD_INDEX } from "../checkpoint/sharded.js";
import { readTorchFile } from "../checkpoint/torch-pickle.js";
import { VitlensError } from "../errors.js";
import type { ViT } from "../models/vit.js";
import { sameShape, shapeString, type Params, type Tensor } from "../tensor.js";

/* What the Hugging Face captioner folders (ViT + GPT-2, BLIP) share: their weights, the shape check, the trainable tensors, the files beside them. */

/** A captioner folder's weights, looked for as transformers does: safetensors, shards, then pytorch_model.bin. */
export function readCaptionerWeights(dir: string): { tensors: Map<string, Tensor>; file: string } {
  const files = ["model.safetensors", SHARD_INDEX, "pytorch_model.bin"];
  const found = files.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!found) {
    const others = readdirSync(dir).filter((f) => /\.(bin|pth|pt|safetensors|h5|msgpack)$/.test(f));
    throw new VitlensError(`${dir}: no ${files.join(", ")}${others.length ? ` (found ${others.join(", ")})` : ""}`);
  }
  if (found.endsWith(".bin")) return { tensors: readTorchFile(found).tensors, file: found };
  return { tensors: (found.endsWith(".json") ? readShardedSafetensors(found) : readSafetensors(found)).tensors, file: found };
}

/** Every expected tensor present with its shape, nothing unexpected; errors name the file's own key (`prefix` + vitlens' name when unknown). */
export function checkExactShapes(expected: Array<[string, number[]]>, params: Params, origin: Map<string, string>, file: string, prefix = ""): void {
  const names = new Set(expected.map(([n]) => n));
  for (const [name, shape] of expected) {
    const t = params.get(name);
    if (!t) throw new VitlensError(`${file}: missing key ${origin.get(name) ?? prefix + name} (vitlens ${name})`);
    if (!sameShape(t.shape, shape)) throw new VitlensError(`${file}: key ${origin.get(name) ?? prefix + name} has shape ${shapeString(t.shape)}, expected ${shapeString(shape)} from config.json`);
  }
  for (const name of params.keys()) if (!names.has(name)) throw new VitlensError(`${file}: unexpected key ${origin.get(name) ?? prefix + name}`);
}

/** Every trainable tensor of an encoder + decoder captioner under its saved name (encoder.* and decoder.*). */
export function captionerParams(encoder: ViT, decoderParams: Params): Params {
  const out: Params = new Map();
  for (const [k, t] of encoder.params) out.set(`encoder.${k}`, t);
  for (const [k, t] of decoderParams) out.set(k, t);
  return out;
}

/**
 * The files beside a Hugging Face captioner's weights that loading it reads: generation settings,
 * image processor, tokenizer (GPT-2's BPE or BERT's WordPiece with added tokens such as BLIP's
 * [DEC]). A Hub download fetches those the repository has; save() copies them.
 */
export const CAPTIONER_SIDE_FILES = [
  "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json",
  "vocab.json", "merges.txt", "vocab.txt", "added_tokens.json", "special_tokens_map.json",
];

/** Copies the side files `source` has into `dir` (nothing when they are the same folder). */
export function copyCaptionerFiles(source: string, dir: string): void {
  if (resolve(source) === resolve(dir)) return;
  for (const f of CAPTIONER_SIDE_FILES) if (existsSync(join(source, f))) copyFileSync(join(source, f), join(dir, f));
}
