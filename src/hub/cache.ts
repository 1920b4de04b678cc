import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The Hugging Face cache layout, the same one Python's huggingface_hub reads and writes, so either
 * tool reuses what the other downloaded:
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub)
 *     models--owner--name/
 *       blobs/<etag>                      file contents, named by sha256 (LFS) or git blob id
 *       refs/<revision>                   the commit a branch or tag pointed at when last resolved
 *       snapshots/<commit>/<filename>     relative symlink to ../../blobs/<etag>
 *       .no_exist/<commit>/<filename>     empty marker: the file is absent at that commit
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

/** A model repository lives in models--owner--name, a dataset in datasets--owner--name (huggingface_hub's names). */
export type RepoType = "model" | "dataset";

export function repoFolder(cacheDir: string, repoId: string, type: RepoType = "model"): string {
  return join(cacheDir, `${type}s--${repoId.split("/").join("--")}`);
}

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The commit a revision resolved to when it was last downloaded, or null. */
export function cachedCommit(folder: string, revision: string): string | null {
  if (COMMIT_HASH.test(revision)) return revision;
  const ref = join(folder, "refs", revision);
  return existsSync(ref) ? readFileSync(ref, "utf8").trim() : null;
}

export type CachedFile = { kind: "present"; path: string } | { kind: "absent" } | { kind: "unknown" };

/** What the cache knows about one file at one commit. */
export function cachedFile(folder: string, commit: string, filename: string): CachedFile {
  const path = join(folder, "snapshots", commit, filename);
  if (existsSync(path)) return { kind: "present", path };
  if (existsSync(join(folder, ".no_exist", commit, filename))) return { kind: "absent" };
  return { kind: "unknown" };
}
