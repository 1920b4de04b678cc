import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { findSplit, hubConfigSplits, parquetFiles, wishedSplit, type DatasetSelection } from "../data/hf-dataset.js";
import { VitlensError } from "../errors.js";
import { cachedCommit, repoFolder } from "./cache.js";
import { authHeaders, hubFile, type HubOptions } from "./download.js";
import { NetworkError, send } from "./fetch-resumable.js";
import { parseHubId } from "./snapshot.js";

/** `hf:owner/name` or `hf:owner/name@revision`: a dataset repository on the Hub. */
export function parseDatasetId(spec: string): { repoId: string; revision: string } | null {
  const m = /^hf:(?:\/\/datasets\/)?(.+)$/.exec(spec);
  return m ? parseHubId(m[1]) : null;
}

/** What a dataset snapshot needs: the card (class names, configs) and the parquet files. */
const WANTED = (path: string) => path === "README.md" || path.endsWith(".parquet");

/**
 * Brings a dataset repository's card and the parquet files a command needs into the Hugging Face
 * cache (datasets--owner--name, the layout huggingface_hub writes; downloads resume) and returns
 * its snapshot folder, which openData reads like a local dataset folder. The files are found by
 * listing the repository tree, then narrowed to one config and the selected splits (a dataset
 * with many configs or a huge training split is not downloaded whole for `eval`); offline
 * (HF_HUB_OFFLINE=1, or the hub unreachable) the cached snapshot of the revision is used as it is.
 */
export async function downloadDataset(spec: string, hub: HubOptions, select: DatasetSelection = {}): Promise<string> {
  const id = parseDatasetId(spec);
  if (!id) throw new VitlensError(`--data ${spec}: not a Hugging Face dataset id (hf:owner/name or hf:owner/name@revision)`);
  const { repoId, revision } = id;
  const opts: HubOptions = { ...hub, repoType: "dataset" };
  let files: string[];
  try {
    if (opts.offline) throw new NetworkError("HF_HUB_OFFLINE=1");
    files = (await listTree(repoId, revision, opts)).filter(WANTED);
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e;
    const cached = cachedSnapshot(opts, repoId, revision);
    if (!cached) throw new VitlensError(`hf:${repoId}@${revision}: ${opts.offline ? "HF_HUB_OFFLINE=1 and" : `cannot reach ${opts.endpoint} (${e.message}) and`} the dataset is not in the cache ${repoFolder(opts.cacheDir, repoId, "dataset")}`);
    if (!opts.offline) opts.warn?.(`hub unreachable (${e.message}): using the cached dataset hf:${repoId}@${revision}`);
    checkCachedSplits(cached, `hf:${repoId}@${revision}`, select);
    return cached;
  }
  if (!files.some((f) => f.endsWith(".parquet"))) {
    throw new VitlensError(`hf:${repoId}@${revision}: the repository holds no parquet files (vitlens reads datasets stored as parquet, as the Hub's own conversion at @refs/convert/parquet is)`);
  }
  let snapshot: string | null = null;
  const fetch = async (f: string) => {
    const path = await hubFile(repoId, revision, f, opts, f === "README.md");
    if (path) snapshot ??= path.slice(0, path.length - f.length - 1);
  };
  if (files.includes("README.md")) await fetch("README.md"); // the card says which files form each config and split
  for (const f of selectedParquet(files.filter((f) => f.endsWith(".parquet")), snapshot, `hf:${repoId}@${revision}`, select)) await fetch(f);
  return snapshot!;
}

/**
 * Offline, a snapshot holds the splits earlier commands downloaded: a split this command would
 * read online and the cache lacks is refused, not swapped for another (which would train or score
 * on other data). The split read online is the first preferred one the card names, else the
 * first split. Without a card listing the splits the cache cannot show one it lacks, so only a
 * wish's first preference (or a split named with --split) is taken from it; an optional held-out
 * split the dataset may not have can be missing.
 */
function checkCachedSplits(dir: string, where: string, select: DatasetSelection): void {
  const { splits, absent } = hubConfigSplits(parquetFiles(dir), dir, where, select.config);
  const chosen: string[] = [];
  for (const want of select.splits ?? []) {
    let first = wishedSplit([...splits.keys(), ...(absent ?? [])], want, chosen);
    // none preferred (a dataset of dev and test): online, the first split listed. Only a card listing
    // every split, all of them cached, says which that was; without one, the cache may lack it.
    if (first === undefined && want.otherwise === "first-split" && absent?.length === 0) first = [...splits.keys()][0];
    if (first !== undefined) chosen.push(first);
    const unlisted = absent === undefined && !want.exact && want.otherwise !== "skip";
    if (unlisted && first !== undefined && first !== findSplit([...splits.keys()], want.prefer[0])) {
      throw new VitlensError(`${where}: the hub cannot be reached, and the cached snapshot holds ${first} but no ${want.prefer[0]} split, which the dataset may have (no card lists its splits); ` +
        "run once with the hub reachable, or name a cached split with --split");
    }
    if (first !== undefined ? splits.has(first) : want.otherwise === "skip") continue;
    throw new VitlensError(`${where}: the hub cannot be reached and the cached snapshot has no ${want.prefer.join(" / ")} split (it holds ${[...splits.keys()].join(", ")}); run once with the hub reachable, or name a cached split with --split`);
  }
}

/** The parquet files of the selected config and splits (the reader's own choice of both, made on the listing). */
export function selectedParquet(parquet: string[], cardDir: string | null, where: string, select: DatasetSelection): string[] {
  const { splits } = hubConfigSplits(parquet, cardDir, where, select.config);
  if (!select.splits) return [...splits.values()].flat();
  const names = [...splits.keys()];
  const chosen = new Set<string>();
  for (const want of select.splits) {
    const split = wishedSplit(names, want, [...chosen]);
    if (split !== undefined) chosen.add(split);
    else if (want.otherwise === "first-split") chosen.add(names[0]);
    else if (want.otherwise === "refuse") throw new VitlensError(`--split ${want.prefer.join(", ")}: ${where} has splits ${names.join(", ")}`);
  }
  return [...chosen].flatMap((s) => splits.get(s)!);
}

interface TreeEntry { type: string; path: string }

/** GET /api/datasets/{repo}/tree/{revision}?recursive=true, following the Link header's next pages. */
async function listTree(repoId: string, revision: string, opts: HubOptions): Promise<string[]> {
  let url: string | null = `${opts.endpoint}/api/datasets/${repoId}/tree/${encodeURIComponent(revision)}?recursive=true`;
  const out: string[] = [];
  for (let page = 0; url && page < 1000; page++) {
    const res = await send(url, { headers: authHeaders(opts) }, 30_000);
    if (res.status === 404) {
      const code = res.headers.get("x-error-code");
      throw new VitlensError(code === "RevisionNotFound"
        ? `hf:${repoId}: no revision "${revision}"`
        : `hf:${repoId}: no such dataset repository on ${opts.endpoint}${opts.token ? "" : " (or it is private: set HF_TOKEN)"}`);
    }
    if (res.status === 401 || res.status === 403) throw new VitlensError(`hf:${repoId}: ${opts.endpoint} answered ${res.status}: ${opts.token ? "the token in HF_TOKEN does not grant access" : "set HF_TOKEN to a token with access"}`);
    if (!res.ok) throw new VitlensError(`hf:${repoId}: listing the repository answered HTTP ${res.status}`);
    const entries = (await res.json()) as TreeEntry[];
    if (!Array.isArray(entries)) throw new VitlensError(`${opts.endpoint}: the tree listing of hf:${repoId} is not a list (check HF_ENDPOINT)`);
    out.push(...entries.filter((e) => e.type === "file").map((e) => e.path));
    const next: RegExpExecArray | null = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "");
    url = next ? new URL(next[1], url).toString() : null;
  }
  return out;
}

function cachedSnapshot(opts: HubOptions, repoId: string, revision: string): string | null {
  const folder = repoFolder(opts.cacheDir, repoId, "dataset");
  const commit = cachedCommit(folder, revision);
  const dir = commit ? join(folder, "snapshots", commit) : null;
  if (!dir || !existsSync(dir)) return null;
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.name.endsWith(".parquet"));
  return files.length ? dir : null;
}

