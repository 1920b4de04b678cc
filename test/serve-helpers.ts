// Shared by the serve tests: the server on 127.0.0.1 with the bundled models, the CLI, requests.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startServer, type RunningServer } from "../src/serve/app.js";
import type { ServeOptions } from "../src/serve/context.js";
import { root } from "./helpers.js";

export const BUNDLED_MODEL = join(root, "models", "fashion-mnist-vit");
export const BUNDLED_CAPTIONER = join(root, "models", "fashion-grid-captioner");
export const sample = (name: string) => join(root, "samples", name);

export function cli(...args: string[]) {
  return spawnSync(process.execPath, [join(root, "bin", "vitlens.js"), ...args], { encoding: "utf8" });
}

export function serve(o: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({ model: BUNDLED_MODEL, captioner: BUNDLED_CAPTIONER, host: "127.0.0.1", port: 0, ...o });
}

export async function call(server: RunningServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(new URL(path, server.url), init);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, body, headers: res.headers };
}

/** Reads a Server-Sent Events response one event at a time (comment blocks skipped); cancel() ends it. */
export function eventStream(res: Response): { next: () => Promise<{ event: string; data: unknown }>; cancel: () => Promise<void> } {
  const reader = res.body!.getReader();
  let buffer = "";
  const next = async (): Promise<{ event: string; data: unknown }> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(":")) continue;
        return { event: /^event: (.*)$/m.exec(block)![1], data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) };
      }
      buffer += new TextDecoder().decode((await reader.read()).value);
    }
  };
  return { next, cancel: () => reader.cancel() };
}

export const postJson = (server: RunningServer, path: string, body: unknown) =>
  call(server, path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
