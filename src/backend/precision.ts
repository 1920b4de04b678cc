import { VitlensError } from "../errors.js";
import type { Backend, BatchProduct, Product } from "./backend.js";

/*
 * Mixed precision for the matrix products (linear layers, attention's batched products): bf16
 * operands, f32 accumulation and output. Everything else — master weights, optimizer state,
 * layer norms, softmax, GELU, loss — stays f32.
 *
 *   fp32           every product in f32 (the default: results do not depend on the CPU)
 *   bf16           oneDNN's bf16 kernels; only where the CPU has avx512_core_bf16 or AMX
 *   bf16-emulated  the same policy on any CPU: operands rounded to bf16 (nearest even) into
 *                  f32 buffers, then the f32 product (for tests and experiments; slower than fp32)
 *   auto           (a request, not a precision) bf16 where the CPU has the units, else fp32
 */

export const PRECISIONS = ["fp32", "bf16", "bf16-emulated"] as const;
export type Precision = (typeof PRECISIONS)[number];
export type PrecisionRequest = Precision | "auto";

/** What the CPU offers, as the native addon reports it (null: no addon, the js backend). */
export interface CpuFeatures {
  isa: string; // what oneDNN dispatches to: avx2, avx512_core, avx512_core_amx, ...
  nativeBf16: boolean;
}

/** The addon's CPU report when the backend is native, else null. */
export function cpuFeatures(be: Backend): CpuFeatures | null {
  const info = (be as { cpuInfo?: () => CpuFeatures }).cpuInfo;
  return typeof info === "function" ? info() : null;
}

/** "fp32" | "bf16" | "bf16-emulated" | "auto", or a one-line error naming `flag`. */
export function parsePrecisionRequest(value: string, flag = "--precision"): PrecisionRequest {
  if (value === "auto" || (PRECISIONS as readonly string[]).includes(value)) return value as PrecisionRequest;
  throw new VitlensError(`${flag} ${value}: expected fp32, bf16, auto or bf16-emulated`);
}

/**
 * The precision to run with: `auto` becomes bf16 where the CPU has bf16 units, else fp32; `bf16`
 * where it has none is an error. `note` says what auto chose, for the command to print.
 */
export function resolvePrecision(request: PrecisionRequest, be: Backend): { precision: Precision; note: string | null } {
  const cpu = cpuFeatures(be);
  const native = cpu?.nativeBf16 ?? false;
  if (request === "auto") {
    return native
      ? { precision: "bf16", note: `--precision auto: bf16 products (this CPU dispatches ${cpu!.isa})` }
      : { precision: "fp32", note: null };
  }
  if (request === "bf16" && !native) {
    const where = cpu ? `this CPU dispatches ${cpu.isa}` : `the ${be.name} backend has no bf16 kernels`;
    throw new VitlensError(`--precision bf16: needs a CPU with avx512_core_bf16 or AMX (${where}); use fp32, auto, or bf16-emulated to emulate it`);
  }
  return { precision: request, note: null };
}

/**
 * `be` with its products in `precision`; every other function unchanged. The emulation rounds
 * into buffers kept by the wrapper (grown as needed), so a step allocates nothing.
 */
export function withPrecision(be: Backend, precision: Precision): Backend {
  const base = be.precision ? (be as Backend & { base?: Backend }).base ?? be : be;
  if (precision === "fp32") return base;
  if (precision === "bf16") {
    return {
      ...base, base, precision,
      matmul: (a, b, c, p) => base.matmul(a, b, c, { ...p, bf16: true }),
      batchMatmul: (a, b, c, p) => base.batchMatmul(a, b, c, { ...p, bf16: true }),
    } as Backend;
  }
  const buffers = [new Float32Array(0), new Float32Array(0)];
  const rounded = (x: Float32Array, n: number, slot: 0 | 1): Float32Array => {
    if (buffers[slot].length < n) buffers[slot] = new Float32Array(n);
    const out = buffers[slot].subarray(0, n);
    base.roundBf16(x, out, n);
    return out;
  };
  return {
    ...base, base, precision,
    matmul: (a: Float32Array, b: Float32Array, c: Float32Array, p: Product) =>
      base.matmul(rounded(a, p.m * p.k, 0), rounded(b, p.k * p.n, 1), c, p),
    batchMatmul: (a: Float32Array, b: Float32Array, c: Float32Array, p: BatchProduct) =>
      base.batchMatmul(rounded(a, p.batch * p.m * p.k, 0), rounded(b, p.batch * p.k * p.n, 1), c, p),
  } as Backend;
}
