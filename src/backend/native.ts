import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { Backend } from "./backend.js";

type NativeAddon = Omit<Backend, "name"> & { setThreads(n: number): void; getThreads(): number };

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
  return Object.assign(Object.create(null), addon, { name: "native" as const });
}
