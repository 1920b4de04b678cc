import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { downloadResumable, sha256File, type DownloadProgress } from "./fetch-resumable.js";
import { withFileLock } from "./file-lock.js";

/**
 * Checkpoints published at a URL, cached where torch.hub caches them
 * (torch.hub.load_state_dict_from_url: $TORCH_HOME/hub/checkpoints/<the URL's file name>), so a file
 * either tool downloaded is reused by the other. Beside each file vitlens keeps `<file>.sha256`
 * (sha256sum's format), written when the file is first downloaded or first used, and checked on
 * every later load.
 */

/** CATR's released weights: the URLs of the torch.hub entries v1, v2, v3 in saahiluppal/catr's hubconf.py. */
export const CATR_CHECKPOINTS = {
  "catr-v1": "https://github.com/saahiluppal/catr/releases/download/0.1/weights_9348032.pth",
  "catr-v2": "https://github.com/saahiluppal/catr/releases/download/0.2/weight389123791.pth",
  "catr-v3": "https://github.com/saahiluppal/catr/releases/download/0.2/weight493084032.pth",
} as const;

export type CatrName = keyof typeof CATR_CHECKPOINTS;

export function isCatrName(s: string): s is CatrName {
  return Object.hasOwn(CATR_CHECKPOINTS, s);
}

export interface TorchHubOptions {
  /** No downloads: a file must already be in the cache (HF_HUB_OFFLINE=1, --offline). */
  offline: boolean;
  progress?: DownloadProgress;
  /** torch.hub's folder; default from TORCH_HOME / XDG_CACHE_HOME as torch.hub.get_dir() finds it. */
  hubDir?: string;
  /** Told once when another process is downloading the same file (this one then waits for it). */
  warn?: (line: string) => void;
}

/** torch.hub.get_dir(): $TORCH_HOME/hub, TORCH_HOME defaulting to $XDG_CACHE_HOME/torch, then ~/.cache/torch. */
export function torchHubDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.TORCH_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "torch");
  return join(expandUser(home), "hub");
}

/** Python's os.path.expanduser for the forms a variable holds: ~ and ~/... */
function expandUser(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** Where torch.hub keeps a URL's file: <hub>/checkpoints/<basename of the URL's path>. */
export function torchHubCheckpointPath(url: string, hubDir: string = torchHubDir()): string {
  let name: string;
  try {
    name = basename(new URL(url).pathname);
  } catch {
    throw new VitlensError(`${url}: not a URL`);
  }
  if (!name || name === "." || name === ".." || name.includes("\\")) throw new VitlensError(`${url}: the URL names no file to cache`);
  return join(hubDir, "checkpoints", decodeURIComponent(name).replace(/[/\\]/g, "_"));
}

/** `catr-v1` / `catr-v2` / `catr-v3` -> the path of its checkpoint in torch.hub's cache, downloaded on first use. */
export async function resolveTorchHubCheckpoint(name: string, opts: TorchHubOptions): Promise<string> {
  if (!isCatrName(name)) throw new VitlensError(`--model ${name}: not a published checkpoint (known: ${Object.keys(CATR_CHECKPOINTS).join(", ")})`);
  return torchHubFile(CATR_CHECKPOINTS[name], opts);
}

/**
 * The path of `url`'s file in torch.hub's cache. A cached file is checked against its recorded
 * sha256 (recorded now if torch.hub, not vitlens, downloaded it); a missing one is downloaded to
 * `<file>.partial` (resumed by Range in a later run) under a lock (one download per file across
 * processes), its size checked against the server's, its sha256 recorded, then renamed into place.
 */
export async function torchHubFile(url: string, opts: TorchHubOptions): Promise<string> {
  const path = torchHubCheckpointPath(url, opts.hubDir ?? torchHubDir());
  const record = `${path}.sha256`;
  if (existsSync(path)) {
    await checkOrRecord(path, record);
    return path;
  }
  if (opts.offline) {
    throw new VitlensError(`${url} is not in torch.hub's cache and offline mode (HF_HUB_OFFLINE=1) forbids downloading it: fetch it elsewhere and put it at ${path}`);
  }
  mkdirSync(join(path, ".."), { recursive: true });
  const label = basename(path);
  await withFileLock(path, { label, onWait: opts.warn }, async () => {
    if (existsSync(path)) return; // another process downloaded it while this one waited
    const partial = `${path}.partial`;
    const total = await downloadResumable({ url, partial, label, size: null, progress: opts.progress });
    const size = statSync(partial).size;
    if (total !== null && size !== total) {
      rmSync(partial);
      throw new VitlensError(`${label}: downloaded ${size} bytes, the server announced ${total}; the partial download was deleted, run again`);
    }
    writeFileAtomic(record, [sha256Line(await sha256File(partial), label)]);
    renameSync(partial, path);
  });
  return path;
}

function sha256Line(digest: string, name: string): string {
  return `${digest}  ${name}\n`; // sha256sum's format: `sha256sum -c` checks it
}

async function checkOrRecord(path: string, record: string): Promise<void> {
  const digest = await sha256File(path);
  if (!existsSync(record)) {
    writeFileAtomic(record, [sha256Line(digest, basename(path))]); // fetched by torch.hub: recorded on first use
    return;
  }
  const recorded = /^[0-9a-f]{64}/.exec(readFileSync(record, "utf8"))?.[0];
  if (!recorded) throw new VitlensError(`${record}: not a sha256 record (delete it: it is written again from ${basename(path)})`);
  if (digest !== recorded) {
    throw new VitlensError(`${path}: sha256 ${digest} differs from ${recorded} recorded in ${basename(record)} when it was downloaded: the file is corrupt or was replaced; delete both files to download it again`);
  }
}
