// The page's only way to the server: the JSON API, errors shown in the page.

export interface ModelInfo {
  source: string; labels: string[]; numClasses: number; layers: number; heads: number; grid: [number, number]; imageSize: [number, number];
}
export interface CaptionerInfo { error?: string; layers: number; heads: number; grid: [number, number] }
export interface Info { model: ModelInfo; captioner: CaptionerInfo }
export interface GridAnswer { shape: [number, number]; map: number[]; cls?: number }

/** What tests and scripts can read from the page (window.vitlens). */
export const observed = {
  timings: {} as Record<string, number>,
  lastMap: null as null | { request: Record<string, unknown>; answer: GridAnswer },
  lastHover: null as null | { request: Record<string, unknown>; answer: GridAnswer },
  top: [] as Array<{ index: number; label: string; score: number }>,
  caption: null as null | Record<string, unknown>,
  shownWord: -1,
  posembPatch: -1,
  runRecords: 0,
  pending: 0,
};
(window as unknown as { vitlens: typeof observed }).vitlens = observed;

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function showError(message: string | null): void {
  const box = $("error");
  box.hidden = message === null;
  box.textContent = message ?? "";
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  observed.pending++;
  try {
    const res = await fetch(path, init);
    const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
    if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
    return body as T;
  } finally {
    observed.pending--;
  }
}

export const getJson = <T>(path: string) => request<T>(path);
export const postJson = <T>(path: string, body: unknown) =>
  request<T>(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
export const postImage = (blob: Blob) =>
  request<{ id: string; width: number; height: number }>("/api/images", { method: "POST", headers: { "content-type": blob.type || "application/octet-stream" }, body: blob });
