import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { VitlensError } from "../errors.js";

/** The HTTP side of every download (the Hugging Face Hub's blobs, torch.hub's checkpoints). */

export interface DownloadProgress {
  start(filename: string, totalBytes: number, resumedAt: number): void;
  advance(bytes: number): void;
  stop(): void;
}

/** A connection that failed or broke: retried, and resumed from what arrived. */
export class NetworkError extends Error {}

export async function send(url: string, init: RequestInit, timeoutMs?: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(cause?.code ?? cause?.message ?? (e as Error).message);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export interface ResumableDownload {
  url: string;
  /** The bytes so far: appended to by a Range request, kept when the download fails. */
  partial: string;
  /** Names the file in messages and on the progress bar. */
  label: string;
  /** The size when known beforehand (the hub's HEAD), else null: learned from the server's reply. */
  size: number | null;
  headers?: Record<string, string>;
  progress?: DownloadProgress;
}

const MAX_ATTEMPTS = 3;

/**
 * Downloads `url` into `partial`, resuming with a Range request after a broken connection (and
 * in a later run, from the partial file left behind). The size the server announces
 * (Content-Length of a 200, the total of a 206's Content-Range) must agree with `size` and
 * between attempts, and no more bytes than that are accepted; a disagreement deletes the partial
 * file. Returns the announced size (null if the server never said): the caller checks the file
 * against it, and its checksum, before giving the file its final name.
 */
export async function downloadResumable(d: ResumableDownload): Promise<number | null> {
  const size = { total: d.size }; // what the server announced, remembered across attempts
  let lastError = "";
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const have = existsSync(d.partial) ? statSync(d.partial).size : 0;
    if (size.total !== null && have === size.total && have > 0) return size.total; // complete, left before its rename
    try {
      await fetchInto(d, have, size);
      return size.total;
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      lastError = e.message;
    }
  }
  throw new VitlensError(`${d.label}: download failed ${MAX_ATTEMPTS} times (${lastError}); the partial file ${d.partial} is kept and the next run resumes it`);
}

async function fetchInto(d: ResumableDownload, have: number, size: { total: number | null }): Promise<void> {
  const headers: Record<string, string> = { ...d.headers, "accept-encoding": "identity" };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await send(d.url, { headers, redirect: "follow" });
  if (res.status === 416 && have > 0) { // stale partial file longer than the file: start over
    rmSync(d.partial);
    throw new NetworkError("range not satisfiable, restarting");
  }
  if (res.status >= 500) throw new NetworkError(`HTTP ${res.status}`); // transient: retried, then resumed
  if (!res.ok || !res.body) throw new VitlensError(`${d.label}: the download from ${new URL(d.url).host} answered HTTP ${res.status}${res.headers.get("x-error-code") ? ` (${res.headers.get("x-error-code")})` : ""}`);
  const resumed = res.status === 206 ? have : 0; // a server that ignores Range sends it all again
  const announced = announcedSize(res, have, d);
  const refuse = (why: string): never => {
    rmSync(d.partial, { force: true });
    throw new VitlensError(`${d.label}: ${why}; the partial download was deleted, run again`);
  };
  const known = size.total;
  if (announced !== null && known !== null && announced !== known) refuse(`the server announces ${announced} bytes where ${known} were announced before (the file changed, or the server misreports its size)`);
  const total = (size.total = announced ?? known);
  d.progress?.start(d.label, total ?? 0, resumed);
  // Synchronous writes per chunk: whatever arrived before a broken connection is on disk for the resume.
  const fd = openSync(d.partial, resumed ? "a" : "w");
  let received = resumed;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      if (total !== null && received > total) break;
      writeSync(fd, chunk);
      d.progress?.advance(chunk.length);
    }
  } catch (e) {
    throw new NetworkError((e as { cause?: Error }).cause?.message ?? (e as Error).message);
  } finally {
    closeSync(fd);
    d.progress?.stop();
  }
  if (total !== null && received > total) refuse(`the server sent more than the ${total} bytes it announced`);
}

/** The whole file's size from a 200's Content-Length or a 206's Content-Range (which must start where we asked). */
function announcedSize(res: Response, have: number, d: ResumableDownload): number | null {
  if (res.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== have) {
      rmSync(d.partial, { force: true });
      throw new VitlensError(`${d.label}: asked for bytes ${have}- and the server answered ${JSON.stringify(res.headers.get("content-range"))}; the partial download was deleted, run again`);
    }
    return range[3] === "*" ? null : Number(range[3]);
  }
  const length = res.headers.get("content-length");
  return length !== null && /^\d+$/.test(length) ? Number(length) : null;
}
