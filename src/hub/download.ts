import { existsSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative } from "node:path";
import { VitlensError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { cachedCommit, cachedFile, COMMIT_HASH, hubCacheDir, repoFolder, type RepoType } from "./cache.js";
import { downloadResumable, NetworkError, send, sha256File, type DownloadProgress } from "./fetch-resumable.js";
import { withFileLock } from "./file-lock.js";

export type { DownloadProgress } from "./fetch-resumable.js";

export interface HubOptions {
  endpoint: string;
  cacheDir: string;
  token?: string;
  offline: boolean;
  progress?: DownloadProgress;
  /** Reported once per file that came from the cache because the hub could not be reached. */
  warn?: (line: string) => void;
  /** model (default) or dataset: the URL prefix (`datasets/`) and the cache folder */
  repoType?: RepoType;
}

const TRUE = new Set(["1", "ON", "YES", "TRUE"]);

/** HF_ENDPOINT, HF_HOME / HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE: the variables huggingface_hub reads. */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HubOptions {
  return {
    endpoint: (env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    cacheDir: hubCacheDir(env),
    token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    offline: TRUE.has((env.HF_HUB_OFFLINE ?? "").toUpperCase()),
  };
}

/** What HEAD on a resolve URL tells us: the commit, the blob id, its size, and whether it exists. */
interface FileMetadata { commit: string; etag: string; size: number | null }

const HEAD_TIMEOUT_MS = 10_000;

/**
 * Path of `filename` at `revision` of a model repo, downloaded into the cache if it is not there.
 * Returns null for an optional file the repo does not have.
 */
export async function hubFile(repoId: string, revision: string, filename: string, opts: HubOptions, optional = false): Promise<string | null> {
  checkRelative(filename, repoId);
  const folder = repoFolder(opts.cacheDir, repoId, opts.repoType);
  const where = `${repoId}@${revision}: ${filename}`;
  if (opts.offline) {
    return fromCache(folder, revision, filename, optional, `${where} is not in the cache ${folder} and HF_HUB_OFFLINE=1 forbids downloading it`);
  }
  let meta: FileMetadata | null;
  try {
    meta = await headFile(repoId, revision, filename, opts);
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e;
    const found = fromCache(folder, revision, filename, optional, `cannot reach ${opts.endpoint} (${e.message}) and ${where} is not in the cache ${folder}`);
    if (found) opts.warn?.(`hub unreachable (${e.message}): using the cached ${where}`);
    return found;
  }
  if (!meta) return null;

  if (revision !== meta.commit) {
    mkdirSync(join(folder, "refs"), { recursive: true });
    writeFileAtomic(join(folder, "refs", revision), [meta.commit]);
  }
  const pointer = join(folder, "snapshots", meta.commit, filename);
  if (existsSync(pointer)) return pointer;
  const blob = join(folder, "blobs", meta.etag);
  if (!existsSync(blob)) await downloadBlob(resolveUrl(opts, repoId, revision, filename), blob, meta, filename, opts);
  mkdirSync(dirname(pointer), { recursive: true });
  rmSync(pointer, { force: true }); // a dangling link left by a deleted blob
  symlinkSync(relative(dirname(pointer), blob), pointer);
  return pointer;
}

function fromCache(folder: string, revision: string, filename: string, optional: boolean, missing: string): string | null {
  const commit = cachedCommit(folder, revision);
  const found = commit ? cachedFile(folder, commit, filename) : { kind: "unknown" as const };
  if (found.kind === "present") return found.path;
  if (found.kind === "absent" && optional) return null;
  throw new VitlensError(missing);
}

function resolveUrl(opts: HubOptions, repoId: string, revision: string, filename: string): string {
  const prefix = opts.repoType === "dataset" ? "datasets/" : "";
  return `${opts.endpoint}/${prefix}${repoId}/resolve/${encodeURIComponent(revision)}/${filename.split("/").map(encodeURIComponent).join("/")}`;
}

export function authHeaders(opts: HubOptions): Record<string, string> {
  return opts.token ? { authorization: `Bearer ${opts.token}` } : {};
}

/**
 * HEAD without following the CDN redirect: the hub puts X-Repo-Commit, X-Linked-Etag (sha256 of an
 * LFS file) and X-Linked-Size on the redirect itself. Relative redirects (a renamed repo) are followed.
 */
async function headFile(repoId: string, revision: string, filename: string, opts: HubOptions): Promise<FileMetadata | null> {
  let url = resolveUrl(opts, repoId, revision, filename);
  for (let hops = 0; hops < 5; hops++) {
    const res = await send(url, { method: "HEAD", redirect: "manual", headers: { ...authHeaders(opts), "accept-encoding": "identity" } }, HEAD_TIMEOUT_MS);
    const commit = res.headers.get("x-repo-commit");
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && !commit && location?.startsWith("/")) {
      url = new URL(location, url).toString();
      continue;
    }
    if (!res.ok && !(res.status >= 300 && res.status < 400)) {
      const code = res.headers.get("x-error-code");
      if (optional404(res.status, code) && commit) markAbsent(repoFolder(opts.cacheDir, repoId, opts.repoType), commit, filename);
      if (optional404(res.status, code)) return null;
      throw hubError(res.status, code, repoId, revision, filename, opts);
    }
    const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length") ?? NaN);
    if (!commit || !COMMIT_HASH.test(commit) || !etag) {
      throw new VitlensError(`${opts.endpoint}: the reply for ${repoId}@${revision}/${filename} lacks the X-Repo-Commit or ETag headers a Hugging Face hub sends (check HF_ENDPOINT)`);
    }
    return { commit, etag, size: Number.isFinite(size) ? size : null };
  }
  throw new VitlensError(`${repoId}: too many redirects from ${opts.endpoint}`);
}

/** A missing file in a repo that exists (a missing repo or revision is an error, not an absent file). */
function optional404(status: number, code: string | null): boolean {
  return status === 404 && (code === null || code === "EntryNotFound");
}

function markAbsent(folder: string, commit: string, filename: string): void {
  const marker = join(folder, ".no_exist", commit, filename);
  mkdirSync(dirname(marker), { recursive: true });
  writeFileSync(marker, "");
}

function hubError(status: number, code: string | null, repoId: string, revision: string, filename: string, opts: HubOptions): VitlensError {
  const token = opts.token ? "the token in HF_TOKEN does not grant access" : "set HF_TOKEN to a token with access";
  const page = `${opts.endpoint}/${opts.repoType === "dataset" ? "datasets/" : ""}${repoId}`;
  if (code === "GatedRepo") return new VitlensError(`${repoId} is a gated repository: accept its terms on ${page} and ${token}`);
  if (code === "RevisionNotFound") return new VitlensError(`${repoId}: no revision "${revision}" (a branch, tag or commit hash)`);
  if (code === "RepoNotFound" || status === 404) {
    return new VitlensError(`${repoId}: no such ${opts.repoType ?? "model"} repository on ${opts.endpoint}${opts.token ? "" : " (or it is private: set HF_TOKEN)"}`);
  }
  if (status === 401) return new VitlensError(`${repoId}: ${opts.endpoint} answered 401 Unauthorized (a private or missing repository): ${token}`);
  if (status === 403) return new VitlensError(`${repoId}: ${opts.endpoint} answered 403 Forbidden: ${token}`);
  return new VitlensError(`${repoId}@${revision}/${filename}: ${opts.endpoint} answered HTTP ${status}${code ? ` (${code})` : ""}`);
}

function normalizeEtag(etag: string | null): string | null {
  if (!etag) return null;
  const clean = etag.replace(/^W\//, "").replace(/^"|"$/g, "");
  return /^[\w.-]+$/.test(clean) ? clean : null; // becomes a file name in blobs/
}

/** One download per blob across processes (a lock beside it); a process that waited finds the blob there. */
async function downloadBlob(url: string, blob: string, meta: FileMetadata, filename: string, opts: HubOptions): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  await withFileLock(blob, { label: filename, onWait: opts.warn }, async () => {
    if (!existsSync(blob)) await fetchBlob(url, blob, meta, filename, opts);
  });
}

/**
 * Downloads into blobs/<etag>.incomplete, resuming with a Range request after a broken connection
 * (and in a later run), then checks the size and, for LFS files, the sha256 before the rename: the
 * cache never holds a partial or corrupt blob under its final name.
 */
async function fetchBlob(url: string, blob: string, meta: FileMetadata, filename: string, opts: HubOptions): Promise<void> {
  const partial = `${blob}.incomplete`;
  await downloadResumable({ url, partial, label: filename, size: meta.size, headers: authHeaders(opts), progress: opts.progress });
  const size = statSync(partial).size;
  if (meta.size !== null && size !== meta.size) {
    rmSync(partial);
    throw new VitlensError(`${filename}: downloaded ${size} bytes, the hub announced ${meta.size}; the partial file was deleted, run again`);
  }
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    const digest = await sha256File(partial);
    if (digest !== meta.etag) {
      rmSync(partial);
      throw new VitlensError(`${filename}: sha256 ${digest} does not match the hub's ${meta.etag}; the corrupt download was deleted, run again`);
    }
  }
  renameSync(partial, blob);
}

/** A file name from a repo (or its shard index) becomes a path in the cache: keep it inside. */
function checkRelative(filename: string, repoId: string): void {
  if (!filename || isAbsolute(filename) || normalize(filename).split(/[\\/]/).includes("..")) {
    throw new VitlensError(`${repoId}: refusing file name ${JSON.stringify(filename)} (must be a relative path inside the repository)`);
  }
}
