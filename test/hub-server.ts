import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for huggingface.co on 127.0.0.1 with the hub's URL scheme and headers:
 * HEAD/GET /{repo}/resolve/{revision}/{file} (datasets: /datasets/{repo}/..., keyed "datasets/owner/name"),
 * GET /api/datasets/{repo}/tree/{revision}?recursive=true; LFS files (.safetensors, .bin, .parquet) answer with a 302 to a
 * CDN path carrying X-Repo-Commit, X-Linked-Etag (sha256) and X-Linked-Size; other files answer
 * 200 with a git-blob ETag. Errors carry X-Error-Code like the hub (RepoNotFound, GatedRepo,
 * RevisionNotFound, EntryNotFound). The CDN honours Range; faults can be injected.
 */
export interface FakeRepo {
  commit: string;
  files: Map<string, Buffer>;
  gated?: boolean;
}

export interface Faults {
  /** Close the connection after this many bytes, on the first CDN download only. */
  cutFirstDownloadAfter?: number;
  /** Serve these files with flipped bytes (the announced sha256 stays right). */
  corrupt?: Set<string>;
}

export interface LoggedRequest { method: string; url: string; range?: string; authorization?: string }

export class FakeHub {
  readonly log: LoggedRequest[] = [];
  private server: Server;
  private blobs = new Map<string, { name: string; content: Buffer }>();
  private downloads = 0;

  constructor(private repos: Map<string, FakeRepo>, private token: string | null = null, readonly faults: Faults = {}) {
    for (const repo of repos.values()) {
      for (const [name, content] of repo.files) this.blobs.set(sha256(content), { name, content });
    }
    this.server = createServer((req, res) => this.handle(req, res));
  }

  start(): Promise<string> {
    return listenLocal(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = decodeURIComponent(req.url ?? "");
    this.log.push({ method: req.method ?? "", url, range: req.headers.range, authorization: req.headers.authorization });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn) return this.serveBlob(cdn[1], req, res);
    const tree = /^\/api\/datasets\/([^/]+\/[^/]+)\/tree\/([^/?]+)\?recursive=true$/.exec(url);
    if (tree) return this.serveTree(`datasets/${tree[1]}`, tree[2], res);
    const resolved = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const m = resolved ? [resolved[0], `${resolved[1] ?? ""}${resolved[2]}`, resolved[3], resolved[4]] : null;
    const repo = m ? this.repos.get(m[1]) : undefined;
    const authorized = req.headers.authorization === `Bearer ${this.token}`;
    if (!m || !repo) return fail(res, req.headers.authorization ? 404 : 401, "RepoNotFound");
    if (repo.gated && !authorized) return fail(res, req.headers.authorization ? 403 : 401, "GatedRepo");
    const [, , revision, file] = m;
    if (revision !== "main" && revision !== repo.commit) return fail(res, 404, "RevisionNotFound");
    const content = repo.files.get(file);
    if (!content) return fail(res, 404, "EntryNotFound", { "x-repo-commit": repo.commit });
    if (/\.(safetensors|bin|parquet)$/.test(file)) {
      res.writeHead(302, {
        location: `/cdn/${sha256(content)}`, "x-repo-commit": repo.commit, "x-linked-etag": `"${sha256(content)}"`,
        "x-linked-size": String(content.length), "content-length": "0",
      });
      return void res.end();
    }
    const etag = createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
    res.writeHead(200, { etag: `"${etag}"`, "x-repo-commit": repo.commit, "content-length": String(content.length) });
    res.end(req.method === "HEAD" ? undefined : content);
  }

  /** The hub's tree listing: every file with its size (one page; the real hub pages with a Link header). */
  private serveTree(key: string, revision: string, res: ServerResponse): void {
    const repo = this.repos.get(key);
    if (!repo) return fail(res, 404, "RepoNotFound");
    if (revision !== "main" && revision !== repo.commit) return fail(res, 404, "RevisionNotFound");
    const entries = [...repo.files].map(([path, content]) => ({ type: "file", path, size: content.length, oid: sha256(content) }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(entries));
  }

  private serveBlob(hash: string, req: IncomingMessage, res: ServerResponse): void {
    const blob = this.blobs.get(hash);
    if (!blob) return fail(res, 404, "EntryNotFound");
    let body = blob.content;
    if (this.faults.corrupt?.has(blob.name)) body = Buffer.from(body.map((b, i) => (i === 100 ? b ^ 0xff : b)));
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const from = range ? Number(range[1]) : 0;
    if (from > body.length) return fail(res, 416, "RangeNotSatisfiable");
    const headers = { "content-length": String(body.length - from), "content-type": "application/octet-stream" };
    if (range) res.writeHead(206, { ...headers, "content-range": `bytes ${from}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    const cut = this.faults.cutFirstDownloadAfter;
    if (this.downloads++ === 0 && cut !== undefined) {
      res.write(body.subarray(from, from + cut), () => res.socket?.end()); // FIN after the bytes, not a reset that may drop them
      return;
    }
    res.end(body.subarray(from));
  }
}

function fail(res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "x-error-code": code, "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ error: code }));
}

export function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Starts `server` on a free loopback port; its base URL. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server`, cutting the connections it still holds. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
}
