import { dirname } from "node:path";
import { VitlensError } from "../errors.js";
import { shardFiles, SHARD_INDEX } from "../checkpoint/sharded.js";
import { hubFile, type HubOptions } from "./download.js";

/** `owner/name` or `owner/name@revision` (a branch, tag or commit hash). */
const HUB_ID = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;

export function parseHubId(spec: string): { repoId: string; revision: string } | null {
  const m = HUB_ID.exec(spec);
  if (!m || spec.includes("..")) return null;
  return { repoId: m[1], revision: m[2] ?? "main" };
}

/**
 * Brings a model repo's config, preprocessor config and weights into the Hugging Face cache and
 * returns its snapshot folder, which loadModel reads like any model directory.
 * Weights are looked for as transformers does: model.safetensors, then the shard index and its
 * shards, then pytorch_model.bin. `optionalFiles` (a captioner's tokenizer and generation config)
 * are fetched when the repository has them.
 */
export async function downloadModel(spec: string, opts: HubOptions, more: { optionalFiles?: string[] } = {}): Promise<string> {
  const id = parseHubId(spec);
  if (!id) throw new VitlensError(`--model ${spec}: not a Hugging Face Hub id (owner/name or owner/name@revision)`);
  const { repoId, revision } = id;
  const config = await hubFile(repoId, revision, "config.json", opts, true);
  if (!config) throw new VitlensError(`${repoId}@${revision}: the repository has no config.json (not a transformers or timm model)`);
  await hubFile(repoId, revision, "preprocessor_config.json", opts, true);
  for (const f of more.optionalFiles ?? []) await hubFile(repoId, revision, f, opts, true);
  if (await hubFile(repoId, revision, "model.safetensors", opts, true)) return dirname(config);
  const index = await hubFile(repoId, revision, SHARD_INDEX, opts, true);
  if (index) {
    for (const shard of shardFiles(index).shards) await hubFile(repoId, revision, shard, opts);
    return dirname(config);
  }
  if (await hubFile(repoId, revision, "pytorch_model.bin", opts, true)) return dirname(config);
  throw new VitlensError(`${repoId}@${revision}: no model.safetensors, ${SHARD_INDEX} or pytorch_model.bin in the repository`);
}
