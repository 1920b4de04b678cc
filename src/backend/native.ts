import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { Backend } from "./backend.js";

/**
 * The addon's own surface: Backend's functions with every argument positional (N-API reads them
 * by index), so the products take their shape as flat numbers and flags.
 */
type NativeAddon = Omit<Backend, "name" | "matmul" | "batchMatmul"> & {
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    transA: boolean, transB: boolean, bias: Float32Array | null, accumulate: boolean): void;
  batchMatmul(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, alpha: number, accumulate: boolean): void;
  setThreads(n: number): void;
  getThreads(): number;
};

/** Path of the built addon, or null when `npm install` could not build it. */
export function nativeAddonPath(): string | null {
  const path = join(packageRoot(), "build", "Release", "vitlens_native.node");
  return existsSync(path) ? path : null;
}

/** Loads the C++ addon (oneDNN matmul, OpenMP kernels); throws with the reason when it cannot. */
export function loadNativeBackend(): Backend & { setThreads(n: number): void; getThreads(): number } {
  const path = nativeAddonPath();
  if (!path) throw new Error("the native addon is not built (build/Release/vitlens_native.node is missing)");
  const addon = createRequire(import.meta.url)(path) as NativeAddon;
  const threads = Number(process.env.VITLENS_THREADS ?? 0);
  if (threads > 0) addon.setThreads(threads);
  return Object.assign(Object.create(null), addon, {
    name: "native" as const,
    matmul: (a, b, c, p) =>
      addon.matmul(a, b, c, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.bias ?? null, p.accumulate ?? false),
    batchMatmul: (a, b, c, p) =>
      addon.batchMatmul(a, b, c, p.batch, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.alpha ?? 1, p.accumulate ?? false),
  } satisfies Pick<Backend, "name" | "matmul" | "batchMatmul">);
}
