import type { LoadOptions } from "../checkpoint/load.js";
import type { PreprocessConfig } from "../data/preprocess-config.js";
import type { ViTConfig } from "../models/vit-config.js";
import { LruCache } from "./cache.js";
import { ImageStore } from "./image-store.js";
import { BoundedQueue } from "./queue.js";
import type { Precision } from "../backend/precision.js";
import type { CaptionHandlers } from "./caption-thread.js";
import { captionerDefaultLayer } from "./captioner-layer.js";
import type { CaptionerInfo } from "./contract.js";
import { TypedThread } from "./rpc.js";
import type { VitHandlers } from "./vit-thread.js";

export interface ServeOptions {
  /** A resolved --model path or preset. */
  model: string;
  loadOptions?: LoadOptions;
  /** The captioner folder (or CATR checkpoint file), or null for none. */
  captioner: string | null;
  /** A CATR captioner's WordPiece vocabulary (a local vocab.txt / tokenizer.json). */
  captionerTokenizer?: string | null;
  host?: string;
  port?: number;
  /** Requests admitted per model thread (running or waiting); more get 503. */
  queue?: number;
  /** Largest upload in bytes. */
  maxUpload?: number;
  /** Largest image in pixels (checked from the header, before decoding). */
  maxPixels?: number;
  /** The folder whose subfolders are the runs view's runs. */
  runs?: string;
  /** Bytes of uploaded images kept in memory / of answers cached. */
  imageCacheBytes?: number;
  resultCacheBytes?: number;
  /** OpenMP threads per model thread (native backend; 0: the backend's default). */
  threads?: number;
  /** The matrix products' precision in every model thread (backend/precision.ts; resolved, not "auto"). */
  precision?: Precision;
  /** How often a live run's metrics.jsonl is checked (ms). */
  pollMs?: number;
}

export interface VitInfo {
  config: ViTConfig;
  labels: string[];
  preprocess: PreprocessConfig;
  notes: string[];
  source: string;
  backend: string;
}

/** What the captioner thread reports when it has loaded (the routes add the default layer). */
export type CaptionerThreadInfo = Omit<CaptionerInfo, "defaultLayer" | "defaultLayerWhy">;

export const DEFAULTS = {
  host: "127.0.0.1", port: 7860, queue: 32, maxUpload: 20 * 1024 * 1024, maxPixels: 40_000_000, runs: "runs",
  imageCacheBytes: 256 * 1024 * 1024, resultCacheBytes: 64 * 1024 * 1024, pollMs: 300, threads: 1,
};

/** What the routes share: the model threads, their queues, the image store and the answer cache. */
export interface ServerContext {
  opts: Required<Omit<ServeOptions, "loadOptions" | "captioner" | "captionerTokenizer">> & Pick<ServeOptions, "loadOptions" | "captioner" | "captionerTokenizer">;
  vit: TypedThread<VitHandlers, VitInfo>;
  vitQueue: BoundedQueue;
  captioner: TypedThread<CaptionHandlers, CaptionerThreadInfo> | null;
  /** The captioner's facts for the page, with the layer its maps ground best in. */
  captionerInfo: CaptionerInfo | null;
  /** Why there is no captioner (none asked for, or it failed to load). */
  captionerError: string | null;
  captionQueue: BoundedQueue;
  images: ImageStore;
  /** JSON answers by (endpoint, image, options). */
  answers: LruCache<string>;
}

/** Starts the model threads (in parallel) and builds the shared state. */
export async function createContext(options: ServeOptions): Promise<ServerContext> {
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ServerContext["opts"];
  const forwardCache = 128 * 1024 * 1024;
  const [vit, captioner] = await Promise.all([
    TypedThread.start<VitHandlers, VitInfo>(new URL("./vit-thread.js", import.meta.url), { spec: opts.model, options: opts.loadOptions ?? {}, cacheBytes: forwardCache, threads: opts.threads, precision: opts.precision }),
    opts.captioner === null
      ? Promise.resolve(null)
      : TypedThread.start<CaptionHandlers, CaptionerThreadInfo>(new URL("./caption-thread.js", import.meta.url), { dir: opts.captioner, cacheBytes: 32 * 1024 * 1024, threads: opts.threads, precision: opts.precision, tokenizer: opts.captionerTokenizer ?? null }).catch((e: Error) => e),
  ]);
  const images = new ImageStore(opts.imageCacheBytes, opts.maxPixels);
  await images.warmUp();
  const cap = captioner instanceof Error ? null : captioner;
  return {
    opts, vit, captionerInfo: cap && opts.captioner ? { ...cap.info, ...captionerDefaultLayer(opts.captioner, cap.info.layers) } : null, vitQueue: new BoundedQueue(opts.queue, "model"),
    captioner: cap,
    captionerError: captioner instanceof Error ? `the captioner ${opts.captioner} did not load: ${captioner.message}` : captioner === null ? "no captioner (start vitlens serve with --captioner DIR)" : null,
    captionQueue: new BoundedQueue(opts.queue, "captioner"),
    images,
    answers: new LruCache<string>(opts.resultCacheBytes, (s) => 2 * s.length),
  };
}
