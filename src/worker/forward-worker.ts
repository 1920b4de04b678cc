import { Worker } from "node:worker_threads";
import type { LoadOptions } from "../checkpoint/load.js";
import { VitlensError } from "../errors.js";
import type { ViTConfig } from "../models/vit-config.js";
import type { ViTOutput } from "../models/vit.js";
import type { Tensor } from "../tensor.js";

type Reply =
  | { type: "ready"; config: ViTConfig; labels: string[]; backend: string }
  | { type: "result"; id: number; out: ViTOutput }
  | { type: "error"; id: number; message: string };

/**
 * A model in a worker thread: forward passes run off the main thread, so a server's event
 * loop keeps answering while a batch computes. Requests are served in order.
 */
export class ForwardWorker {
  private nextId = 0;
  private pending = new Map<number, { resolve: (o: ViTOutput) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    readonly config: ViTConfig,
    readonly labels: string[],
    readonly backend: string,
  ) {
    worker.on("message", (msg: Reply) => {
      if (msg.type === "ready") return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === "result") p.resolve(msg.out);
      else p.reject(new VitlensError(msg.message));
    });
    worker.on("error", (e) => this.failAll(e));
    worker.on("exit", () => this.failAll(new Error("forward worker exited")));
  }

  static start(spec: string, options: LoadOptions = {}): Promise<ForwardWorker> {
    const worker = new Worker(new URL("./forward-thread.js", import.meta.url), { workerData: { spec, options } });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: Reply) => {
        worker.off("error", reject);
        if (msg.type === "ready") resolve(new ForwardWorker(worker, msg.config, msg.labels, msg.backend));
        else {
          void worker.terminate();
          reject(new VitlensError(msg.type === "error" ? msg.message : "forward worker failed to start"));
        }
      };
      worker.once("message", onMessage);
      worker.once("error", reject);
    });
  }

  /** pixels (B, C, H, W); the buffer is copied, the caller keeps it. */
  forward(pixels: Tensor): Promise<ViTOutput> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, pixels });
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
