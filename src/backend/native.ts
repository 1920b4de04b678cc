import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import type { Backend, ConvNet, ConvStep } from "./backend.js";

/**
 * The addon's own surface: Backend's functions with every argument positional (N-API reads them
 * by index), so the products take their shape as flat numbers and flags.
 */
type NativeAddon = Omit<Backend, "name" | "matmul" | "batchMatmul" | "sgdStep" | "adamwStep" | "conv2d" | "maxPool2d" | "convNet"> & {
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    transA: boolean, transB: boolean, bias: Float32Array | null, accumulate: boolean, bf16: boolean, gelu: boolean, relu: boolean): void;
  batchMatmul(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, alpha: number, accumulate: boolean, bf16: boolean): void;
  sgdStep(w: Float32Array, g: Float32Array, buf: Float32Array | null, n: number, lr: number, momentum: number, dampening: number,
    nesterov: boolean, weightDecay: number, first: boolean): void;
  adamwStep(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, t: number): void;
  conv2d(x: Float32Array, weight: Float32Array, out: Float32Array, batch: number, inChannels: number, height: number, width: number,
    outChannels: number, kernel: number, stride: number, padding: number, dilation: number, bias: Float32Array | null,
    accumulate: boolean, relu: boolean): void;
  maxPool2d(x: Float32Array, out: Float32Array, batch: number, channels: number, height: number, width: number,
    kernel: number, stride: number, padding: number): void;
  ConvNet: new (steps: ConvStep[]) => ConvNet;
  setThreads(n: number): void;
  getThreads(): number;
  cpuInfo(): { isa: string; nativeBf16: boolean; fewRows: "avx2" | "baseline" };
  fmaPeak(threads: number): number;
};

/** What the native backend adds to Backend: threads, the CPU's ISA, the measured FMA peak. */
export interface NativeExtras {
  setThreads(n: number): void;
  getThreads(): number;
  /**
   * What oneDNN dispatches to here, whether it has bf16 matmul kernels, and which build of
   * vitlens' few-rows kernel runs (AVX2 only where oneDNN dispatches AVX2 too: ONEDNN_MAX_CPU_ISA
   * emulates an older CPU for the whole engine).
   */
  cpuInfo(): { isa: string; nativeBf16: boolean; fewRows: "avx2" | "baseline" };
  /** fp32 multiply-add GFLOPS of `threads` threads at oneDNN's ISA (register-only loop, ~40 ms). */
  fmaPeak(threads: number): number;
}

/** Path of the built addon, or null when `npm install` could not build it. */
export function nativeAddonPath(): string | null {
  const path = join(packageRoot(), "build", "Release", "vitlens_native.node");
  return existsSync(path) ? path : null;
}

/** Loads the C++ addon (oneDNN matmul, OpenMP kernels); throws with the reason when it cannot. */
export function loadNativeBackend(): Backend & NativeExtras {
  const path = nativeAddonPath();
  if (!path) throw new Error("the native addon is not built (build/Release/vitlens_native.node is missing)");
  const addon = createRequire(import.meta.url)(path) as NativeAddon;
  const threads = Number(process.env.VITLENS_THREADS ?? 0);
  if (threads > 0) addon.setThreads(threads);
  return Object.assign(Object.create(null), addon, {
    name: "native" as const,
    matmul: (a, b, c, p) =>
      addon.matmul(a, b, c, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.bias ?? null, p.accumulate ?? false, p.bf16 ?? false, p.gelu ?? false, p.relu ?? false),
    batchMatmul: (a, b, c, p) =>
      addon.batchMatmul(a, b, c, p.batch, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.alpha ?? 1, p.accumulate ?? false, p.bf16 ?? false),
    sgdStep: (w, g, buf, p) => addon.sgdStep(w, g, buf, p.n, p.lr, p.momentum, p.dampening, p.nesterov, p.weightDecay, p.first),
    adamwStep: (w, g, m, v, p) => addon.adamwStep(w, g, m, v, p.n, p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, p.t),
    conv2d: (x, weight, out, p) =>
      addon.conv2d(x, weight, out, p.batch, p.inChannels, p.height, p.width, p.outChannels, p.kernel, p.stride ?? 1, p.padding ?? 0,
        p.dilation ?? 1, p.bias ?? null, p.accumulate ?? false, p.relu ?? false),
    maxPool2d: (x, out, p) => addon.maxPool2d(x, out, p.batch, p.channels, p.height, p.width, p.kernel, p.stride, p.padding),
    convNet: (steps) => new addon.ConvNet(steps),
  } satisfies Pick<Backend, "name" | "matmul" | "batchMatmul" | "sgdStep" | "adamwStep" | "conv2d" | "maxPool2d" | "convNet">);
}
