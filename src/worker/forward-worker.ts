import type { LoadOptions } from "../checkpoint/load.js";
import type { ViTConfig } from "../models/vit-config.js";
import type { ViTOutput } from "../models/vit.js";
import type { Tensor } from "../tensor.js";
import { ThreadClient } from "./thread-client.js";

interface ForwardInfo {
  config: ViTConfig;
  labels: string[];
  backend: string;
}

/**
 * A model in a worker thread: forward passes run off the main thread, so a server's event
 * loop keeps answering while a batch computes. Requests are served in order.
 */
export class ForwardWorker {
  private constructor(private readonly thread: ThreadClient<ForwardInfo>) {}

  static async start(spec: string, options: LoadOptions = {}): Promise<ForwardWorker> {
    return new ForwardWorker(await ThreadClient.start<ForwardInfo>(new URL("./forward-thread.js", import.meta.url), { spec, options }));
  }

  get config(): ViTConfig {
    return this.thread.info.config;
  }

  get labels(): string[] {
    return this.thread.info.labels;
  }

  get backend(): string {
    return this.thread.info.backend;
  }

  /** pixels (B, C, H, W); the buffer is copied, the caller keeps it. */
  forward(pixels: Tensor): Promise<ViTOutput> {
    return this.thread.call<ViTOutput>("forward", pixels);
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
