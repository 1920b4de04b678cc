import { dirname } from "node:path";
import { VitlensError } from "../errors.js";
import { hubFile, type HubOptions } from "./download.js";

/**
 * A tokenizer's hub id: `name` (the hub's legacy ids without an owner, such as bert-base-uncased,
 * which it redirects to their owner's repository), `owner/name`, either with `@revision`.
 */
const TOKENIZER_ID = /^([A-Za-z0-9][\w.-]*(?:\/[A-Za-z0-9][\w.-]*)?)(?:@([\w./-]+))?$/;

export function parseTokenizerId(spec: string): { repoId: string; revision: string } | null {
  const m = TOKENIZER_ID.exec(spec);
  if (!m || spec.includes("..")) return null;
  return { repoId: m[1], revision: m[2] ?? "main" };
}

/**
 * Brings a tokenizer's files into the Hugging Face cache and returns the snapshot folder holding
 * them: tokenizer_config.json when the repository has one, then the first of tokenizer.json and
 * `vocabularyFiles` it has. Offline, whatever the cache holds is used.
 */
export async function downloadTokenizer(spec: string, opts: HubOptions, vocabularyFiles: string[]): Promise<string> {
  const id = parseTokenizerId(spec);
  if (!id) throw new VitlensError(`--tokenizer ${spec}: no such file or folder, and not a Hugging Face Hub id (name, owner/name, optionally @revision)`);
  const { repoId, revision } = id;
  const optional = async (f: string): Promise<string | null> => {
    try {
      return await hubFile(repoId, revision, f, opts, true);
    } catch (e) {
      if (opts.offline && e instanceof VitlensError) return null; // not cached: the next file may be
      throw e;
    }
  };
  await optional("tokenizer_config.json");
  for (const f of ["tokenizer.json", ...vocabularyFiles]) {
    const path = await optional(f);
    if (path) return dirname(path);
  }
  const files = ["tokenizer.json", ...vocabularyFiles].join(" or ");
  if (opts.offline) throw new VitlensError(`${repoId}@${revision}: no ${files} in the cache ${opts.cacheDir} and HF_HUB_OFFLINE=1 forbids downloading them`);
  throw new VitlensError(`${repoId}@${revision}: the repository has no ${files}`);
}
