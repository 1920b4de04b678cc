import { Worker } from "node:worker_threads";
import { VitlensError } from "../errors.js";

/** What a thread started by `serveThread` posts back. */
export type ThreadReply =
  | { type: "ready"; info: unknown }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; message: string; userError: boolean };

/**
 * The main-thread side of a model thread (serve/vit-thread.ts, caption-thread.ts, the ForwardWorker): named calls
 * answered in order, so the event loop never runs a forward pass. A thread that dies fails
 * every call waiting on it with its reason.
 */
export class ThreadClient<Info> {
  private nextId = 0;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker, readonly info: Info) {
    worker.on("message", (msg: ThreadReply) => {
      if (msg.type === "ready") return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === "result") p.resolve(msg.value);
      else p.reject(msg.userError ? new VitlensError(msg.message) : new Error(msg.message));
    });
    worker.on("error", (e) => this.failAll(e));
    worker.on("exit", (code) => this.failAll(new Error(`model thread exited (code ${code})`)));
  }

  /** Starts `script` with `data`; resolves once it has loaded its model (its ready info). */
  static start<Info>(script: URL, data: unknown): Promise<ThreadClient<Info>> {
    const worker = new Worker(script, { workerData: data });
    return new Promise((resolve, reject) => {
      worker.once("message", (msg: ThreadReply) => {
        worker.off("error", reject);
        if (msg.type === "ready") resolve(new ThreadClient<Info>(worker, msg.info as Info));
        else {
          void worker.terminate();
          reject(msg.type === "error" && msg.userError ? new VitlensError(msg.message) : new Error(msg.type === "error" ? msg.message : "model thread failed to start"));
        }
      });
      worker.once("error", reject);
    });
  }

  call<T>(op: string, args: unknown): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
