import { existsSync } from "node:fs";
import { dirname, join, normalize, isAbsolute } from "node:path";
import { VitlensError } from "../errors.js";
import { readJson } from "../io/read-json.js";
import { readSafetensors, type SafetensorsFile } from "./safetensors.js";

export const SHARD_INDEX = "model.safetensors.index.json";

/** The shard files an index names (its weight_map values), validated to stay inside its folder. */
export function shardFiles(indexPath: string): { shards: string[]; weightMap: Map<string, string> } {
  const weightMap = readJson(indexPath).weight_map;
  if (!weightMap || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new VitlensError(`${indexPath}: expected a "weight_map" object (tensor name -> shard file)`);
  }
  const map = new Map<string, string>();
  for (const [key, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== "string" || isAbsolute(file) || normalize(file).startsWith("..") || !file.endsWith(".safetensors")) {
      throw new VitlensError(`${indexPath}: weight_map["${key}"] must be a relative .safetensors file name, got ${JSON.stringify(file)}`);
    }
    map.set(key, file);
  }
  if (map.size === 0) throw new VitlensError(`${indexPath}: weight_map is empty`);
  return { shards: [...new Set(map.values())], weightMap: map };
}

/** Reads a sharded safetensors checkpoint as one file; every indexed key must be in the shard it names. */
export function readShardedSafetensors(indexPath: string): SafetensorsFile {
  const { shards, weightMap } = shardFiles(indexPath);
  const merged: SafetensorsFile = { tensors: new Map(), skipped: new Map(), metadata: {} };
  for (const shard of shards) {
    const path = join(dirname(indexPath), shard);
    if (!existsSync(path)) throw new VitlensError(`${indexPath}: shard ${shard} is missing`);
    const file = readSafetensors(path);
    for (const [name, t] of file.tensors) merged.tensors.set(name, t);
    for (const [name, dtype] of file.skipped) merged.skipped.set(name, dtype);
    Object.assign(merged.metadata, file.metadata);
  }
  for (const [key, shard] of weightMap) {
    if (!merged.tensors.has(key) && !merged.skipped.has(key)) throw new VitlensError(`${indexPath}: key ${key} is not in its shard ${shard}`);
  }
  return merged;
}
