// The page's only way to the server: the JSON API of contract.ts, every call abortable.
import type { ErrorAnswer, ErrorCode } from "../contract.js";
import { observed } from "./observe.js";

/** An error answer: its one line, and the code the page acts on. */
export class ApiFailure extends Error {
  constructor(message: string, readonly code: ErrorCode | "network", readonly status: number) {
    super(message);
  }
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

async function request<T>(path: string, init: RequestInit, read: (res: Response) => Promise<T>): Promise<T> {
  observed.requests.started++;
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (isAbort(e)) {
      observed.requests.aborted++;
      throw e;
    }
    throw new ApiFailure("the explorer's server does not answer (stopped?): start vitlens serve again, then retry", "network", 0);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ErrorAnswer | null;
    throw new ApiFailure(body?.error ?? `${res.status} ${res.statusText}`, body?.code ?? "internal", res.status);
  }
  return read(res);
}

export const getJson = <T>(path: string, signal?: AbortSignal) => request<T>(path, { signal }, (r) => r.json() as Promise<T>);
export const postJson = <T>(path: string, signal?: AbortSignal, body?: unknown) =>
  request<T>(path, { method: "POST", signal, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) }, (r) => r.json() as Promise<T>);
export const postBlob = <T>(path: string, blob: Blob, signal?: AbortSignal) =>
  request<T>(path, { method: "POST", signal, headers: { "content-type": blob.type || "application/octet-stream" }, body: blob }, (r) => r.json() as Promise<T>);
export const getBlob = (path: string, signal?: AbortSignal) => request<Blob>(path, { signal }, (r) => r.blob());

export { isAbort };
